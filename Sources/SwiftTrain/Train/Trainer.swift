/// The loss a trainer minimises.
public enum LossKind: Int32, Sendable, CaseIterable {
    /// Softmax cross-entropy over integer class labels.
    case crossEntropy = 0
    /// Mean squared error over float targets.
    case mse = 1

    public init(name: String) throws {
        switch name {
        case "cross_entropy": self = .crossEntropy
        case "mse": self = .mse
        default: throw SwiftTrainError.invalid("unknown loss '\(name)'; choose cross_entropy or mse")
        }
    }
}

/// Trains a model on a dataset: epochs of seeded-shuffled batches, forward, loss, backward,
/// gradient clipping, an optimizer step and a learning-rate schedule, with evaluation and
/// callbacks at HuggingFace's points (see docs/events.md for the order).
public final class Trainer {
    public let model: Module
    public let loss: LossKind
    public let args: TrainingArguments
    public var trainDataset: Dataset?
    public var evalDataset: Dataset?
    public private(set) var state = TrainerState()
    private var control = TrainerControl()
    private var callbacks: [(events: EventMask, body: TrainerCallback)] = []
    private var running = false
    /// The moving average of the weights of the last training (nil without ema_decay);
    /// evaluation and prediction use the averaged weights.
    public private(set) var movingAverage: MovingAverage?
    /// Called with each evaluation's metrics during training (drives reduce_lr_on_plateau).
    private var afterEvaluation: ((Metrics) throws -> Void)?

    public init(model: Module, loss: LossKind, args: TrainingArguments) throws {
        try args.validate()
        self.model = model
        self.loss = loss
        self.args = args
    }

    /// Registers a callback for `events`. Callbacks run in registration order, after the
    /// built-in flow logic that decides when to log and evaluate.
    public func addCallback(_ events: EventMask = .all, _ body: @escaping TrainerCallback) {
        callbacks.append((events, body))
    }

    /// The number of outputs the model produces per sample of `dataset` (10 for a 10-class
    /// classifier); throws, saying why, when the model does not accept its samples.
    public func numOutputs(for dataset: Dataset) throws -> Int {
        try check(dataset, role: "dataset", needsTargets: false)
    }

    // MARK: - Training

    /// Trains and returns the train metrics (train_runtime, train_samples_per_second,
    /// train_steps_per_second, train_loss, epoch). Starts a fresh optimizer, schedule and
    /// state; the weights continue from where they are.
    @discardableResult
    public func train() throws -> Metrics {
        try enter("train")
        defer { running = false }
        guard let dataset = trainDataset else {
            throw SwiftTrainError.misuse("train(): no training dataset; set one before training")
        }
        try check(dataset, role: "training dataset", needsTargets: true)
        if args.evalStrategy != .no {
            guard let evalDataset else {
                throw SwiftTrainError.invalid(
                    "eval_strategy is not 'no' but there is no evaluation dataset; set one or use eval_strategy 'no'")
            }
            try check(evalDataset, role: "evaluation dataset", needsTargets: true)
        }

        var loader = DataLoader(dataset: dataset, batchSize: args.perDeviceTrainBatchSize, shuffle: true,
                                seed: args.resolvedDataSeed, dropLast: args.dataloaderDropLast)
        let batchesPerEpoch = loader.batchesPerEpoch
        guard batchesPerEpoch > 0 else {
            throw SwiftTrainError.invalid(
                "the training dataset has \(dataset.numSamples) samples, fewer than one batch of "
                    + "\(args.perDeviceTrainBatchSize) with dataloader_drop_last; lower the batch size")
        }
        let accumulation = args.gradientAccumulationSteps
        let updatesPerEpoch = (batchesPerEpoch + accumulation - 1) / accumulation
        let stepsFromEpochs = (args.numTrainEpochs * Double(updatesPerEpoch)).rounded(.up)
        guard args.maxSteps > 0 || stepsFromEpochs <= Double(1 << 40) else {
            throw SwiftTrainError.invalid("num_train_epochs \(args.numTrainEpochs) x \(updatesPerEpoch) steps per epoch is more than 2^40 steps")
        }
        let maxSteps = args.maxSteps > 0 ? args.maxSteps : Int(stepsFromEpochs)
        let numEpochs = (maxSteps + updatesPerEpoch - 1) / updatesPerEpoch
        let updater = try makeUpdateStep(maxSteps: maxSteps)
        var plateau = args.lrSchedulerType == .reduceLROnPlateau ? try ReduceLROnPlateau.make(kwargs: args.lrSchedulerKwargs) : nil
        let momentumSchedule = args.momentumSchedulerType == .invertedTriangular
            ? try MomentumSchedule.make(kwargs: args.momentumSchedulerKwargs) : nil
        let baseMomenta = updater.optimizer.paramGroups.map(\.momentum)
        movingAverage = updater.average

        state = TrainerState()
        state.maxSteps = maxSteps
        state.numTrainEpochs = numEpochs
        state.trainBatchSize = args.perDeviceTrainBatchSize
        state.loggingSteps = args.loggingSteps
        state.evalSteps = args.resolvedEvalSteps
        updater.applySchedule(at: 0)
        state.learningRate = updater.optimizer.paramGroups[0].learningRate
        control = TrainerControl()
        var log = LossTracker()
        var samplesSeen = 0
        let start = monotonicSeconds()
        model.train()
        afterEvaluation = { [unowned self] metrics in  // reduce_lr_on_plateau follows the evaluation metric
            guard plateau != nil else { return }
            let key = self.args.metricForBestModel.isEmpty ? "eval_loss"
                : (self.args.metricForBestModel.hasPrefix("eval_") ? self.args.metricForBestModel : "eval_" + self.args.metricForBestModel)
            guard let value = metrics[key] else {
                throw SwiftTrainError.invalid("reduce_lr_on_plateau follows '\(key)', which the evaluation did not produce; "
                    + "set metric_for_best_model to one of: \(metrics.map(\.name).joined(separator: ", "))")
            }
            let rates = plateau!.step(metric: value, rates: updater.optimizer.paramGroups.map(\.learningRate))
            for (i, r) in rates.enumerated() { updater.optimizer.paramGroups[i].learningRate = r }
            self.state.learningRate = rates[0]
        }
        defer { afterEvaluation = nil }

        try fire(.trainBegin)
        for epoch in 0..<numEpochs {
            loader.setEpoch(epoch)
            if let momentumSchedule {
                for i in updater.optimizer.paramGroups.indices {
                    updater.optimizer.paramGroups[i].momentum = momentumSchedule.momentum(base: baseMomenta[i], epoch: epoch)
                }
            }
            control.shouldEpochStop = false
            try fire(.epochBegin)
            for update in 0..<updatesPerEpoch {
                control.shouldLog = false
                control.shouldEvaluate = false
                control.shouldSave = false
                try fire(.stepBegin)

                let first = update * accumulation
                let window = (first..<Swift.min(first + accumulation, batchesPerEpoch)).map { loader.batch($0) }
                let result = try updater.run(window, step: state.globalStep)
                if result.skipped { state.skippedSteps += 1 }
                state.gradNorm = result.gradNorm
                state.globalStep += 1
                state.epoch = Double(epoch) + Double(update + 1) / Double(updatesPerEpoch)
                state.loss = result.loss
                if plateau == nil {
                    updater.applySchedule(at: state.globalStep)
                    state.learningRate = updater.optimizer.paramGroups[0].learningRate
                }
                log.add(result.loss)
                samplesSeen += window.reduce(0) { $0 + $1.size }

                try fire(.stepEnd)
                try maybeLogAndEvaluate(&log)
                if control.shouldTrainingStop || control.shouldEpochStop || state.globalStep >= maxSteps { break }
            }
            try fire(.epochEnd)
            try maybeLogAndEvaluate(&log)
            if control.shouldTrainingStop { break }
        }

        let runtime = monotonicSeconds() - start
        var metrics = Metrics()
        metrics["train_runtime"] = runtime
        metrics["train_samples_per_second"] = Double(samplesSeen) / max(runtime, 1e-9)
        metrics["train_steps_per_second"] = Double(state.globalStep) / max(runtime, 1e-9)
        metrics["train_loss"] = state.globalStep > 0 ? log.total / Double(state.globalStep) : .nan
        metrics["epoch"] = state.epoch
        try record(metrics)
        try fire(.trainEnd)
        return metrics
    }

    /// Sums of step losses: since the last log, and over the whole run.
    private struct LossTracker {
        var sinceLog = 0.0, stepsSinceLog = 0, total = 0.0
        mutating func add(_ loss: Double) {
            sinceLog += loss
            stepsSinceLog += 1
            total += loss
        }
    }

    private func maybeLogAndEvaluate(_ tracker: inout LossTracker) throws {
        if control.shouldLog {
            control.shouldLog = false
            var logs = Metrics()
            if tracker.stepsSinceLog > 0 { logs["loss"] = tracker.sinceLog / Double(tracker.stepsSinceLog) }
            if !state.gradNorm.isNaN { logs["grad_norm"] = state.gradNorm }
            logs["learning_rate"] = state.learningRate
            logs["epoch"] = state.epoch
            tracker.sinceLog = 0
            tracker.stepsSinceLog = 0
            try record(logs)
        }
        if control.shouldEvaluate {
            control.shouldEvaluate = false
            guard let evalDataset else {
                throw SwiftTrainError.misuse("a callback requested evaluation but there is no evaluation dataset")
            }
            try evaluateAndReport(evalDataset)
        }
    }

    /// HF's setup: biases and normalisation weights in a group without weight decay, the
    /// optimizer and schedule the arguments name, and the moving average if asked for.
    private func makeUpdateStep(maxSteps: Int) throws -> UpdateStep {
        let named = model.namedParameters
        let groups = [
            ParameterGroup(named.filter(\.decays).map(\.tensor), learningRate: args.learningRate, weightDecay: args.weightDecay),
            ParameterGroup(named.filter { !$0.decays }.map(\.tensor), learningRate: args.learningRate, weightDecay: 0),
        ].filter { !$0.parameters.isEmpty }
        let optimizer = try Optimizer.make(args.optim, groups: groups, beta1: args.adamBeta1, beta2: args.adamBeta2,
                                           epsilon: args.adamEpsilon, sgdMomentum: args.sgdMomentum, optimArgs: args.optimArgs)
        let warmup = try args.resolvedWarmup(total: maxSteps)
        let schedule = args.lrSchedulerType == .reduceLROnPlateau ? nil
            : try LRSchedule.make(args.lrSchedulerType, warmup: warmup, total: maxSteps, kwargs: args.lrSchedulerKwargs,
                                  initialLR: args.learningRate)
        let average = args.emaDecay > 0 ? MovingAverage(parameters: model.parameters, decay: args.emaDecay) : nil
        return UpdateStep(model: model, loss: loss, args: args, optimizer: optimizer, schedule: schedule, average: average)
    }

    // MARK: - Events

    /// The built-in flow (HF DefaultFlowCallback), then the registered callbacks in order.
    /// A callback cannot clear another's stop request.
    private func fire(_ event: TrainerEvent, metrics: Metrics? = nil) throws {
        applyDefaultFlow(event)
        for callback in callbacks where callback.events.contains(event) {
            var c = control
            try callback.body(event, state, &c, metrics)
            c.shouldTrainingStop = c.shouldTrainingStop || control.shouldTrainingStop
            control = c
        }
    }

    private func applyDefaultFlow(_ event: TrainerEvent) {
        switch event {
        case .stepEnd:
            let step = state.globalStep
            if step == 1 && args.loggingFirstStep { control.shouldLog = true }
            if args.loggingStrategy == .steps && step % args.loggingSteps == 0 { control.shouldLog = true }
            if args.evalStrategy == .steps && step % args.resolvedEvalSteps == 0 { control.shouldEvaluate = true }
            if step >= state.maxSteps { control.shouldTrainingStop = true }
        case .epochEnd:
            if args.loggingStrategy == .epoch { control.shouldLog = true }
            if args.evalStrategy == .epoch { control.shouldEvaluate = true }
        default:
            break
        }
    }

    /// Appends to the log history (with "step") and fires `.log`.
    private func record(_ logs: Metrics) throws {
        var entry = logs
        entry["step"] = Double(state.globalStep)
        state.logHistory.append(entry)
        try fire(.log, metrics: logs)
    }

    private func enter(_ what: String) throws {
        guard !running else {
            throw SwiftTrainError.misuse("\(what)() was called from inside a callback of the same trainer; call it after train() returns")
        }
        running = true
    }

    // MARK: - Evaluation and prediction

    /// Evaluates on `dataset` (the evaluation dataset when nil): eval_loss, eval_accuracy
    /// (classification), eval_runtime, eval_samples_per_second, eval_steps_per_second, epoch.
    /// Fires `.log` and `.evaluate`.
    public func evaluate(_ dataset: Dataset? = nil) throws -> Metrics {
        try enter("evaluate")
        defer { running = false }
        guard let dataset = dataset ?? evalDataset else {
            throw SwiftTrainError.misuse("evaluate(): no dataset given and no evaluation dataset set")
        }
        try check(dataset, role: "evaluation dataset", needsTargets: true)
        return try evaluateAndReport(dataset)
    }

    @discardableResult
    private func evaluateAndReport(_ dataset: Dataset) throws -> Metrics {
        var metrics = try runInference(dataset, prefix: "eval", output: nil)!
        metrics["epoch"] = state.epoch
        try record(metrics)
        try fire(.evaluate, metrics: metrics)
        try afterEvaluation?(metrics)
        return metrics
    }

    /// Runs the model on every row and writes the outputs, row-major, into `output`, which
    /// must hold exactly numSamples * numOutputs floats. Returns test_loss (and
    /// test_accuracy) when the dataset has labels or targets.
    public func predict(_ dataset: Dataset, into output: UnsafeMutableBufferPointer<Float>) throws -> Metrics? {
        try enter("predict")
        defer { running = false }
        let outputs = try check(dataset, role: "prediction dataset", needsTargets: false)
        guard output.count == dataset.numSamples * outputs else {
            throw SwiftTrainError.shape(
                "predict: the output buffer holds \(output.count) floats but \(dataset.numSamples) samples x "
                    + "\(outputs) outputs need \(dataset.numSamples * outputs)")
        }
        return try runInference(dataset, prefix: dataset.hasTargets ? "test" : nil, output: output.baseAddress!)
    }

    /// Predictions as an array, row-major [numSamples, numOutputs].
    public func predict(_ dataset: Dataset) throws -> (predictions: [Float], metrics: Metrics?) {
        let outputs = try check(dataset, role: "prediction dataset", needsTargets: false)
        var result = [Float](repeating: 0, count: dataset.numSamples * outputs)
        let metrics = try result.withUnsafeMutableBufferPointer { try predict(dataset, into: $0) }
        return (result, metrics)
    }

    /// Forward passes without autograd, in evaluation mode, over `dataset` in order. Copies
    /// outputs to `output` when given; returns loss/accuracy metrics named with `prefix`
    /// when it is not nil.
    private func runInference(_ dataset: Dataset, prefix: String?, output: UnsafeMutablePointer<Float>?) throws -> Metrics? {
        let loader = DataLoader(dataset: dataset, batchSize: args.perDeviceEvalBatchSize, shuffle: false,
                                seed: 0, dropLast: false)
        let start = monotonicSeconds()
        var lossSum = 0.0, correct = 0, row = 0
        try inEvaluationMode {
            for index in 0..<loader.batchesPerEpoch {
                let batch = loader.batch(index)
                let out = try model.forward(batch.features)
                let width = out.count / Swift.max(batch.size, 1)
                output.map { ($0 + row * width).update(from: out.data, count: out.count) }
                row += batch.size
                guard prefix != nil else { continue }
                switch loss {
                case .crossEntropy:
                    let labels = batch.labels!
                    lossSum += Double(try crossEntropy(out, target: labels, reduction: .sum).item())
                    let predicted = try out.argmax(dim: 1)
                    for i in 0..<batch.size where predicted.int64Data[i] == labels.int64Data[i] { correct += 1 }
                case .mse:
                    lossSum += Double(try mseLoss(out, batch.targets!, reduction: .sum).item()) / Double(width)
                }
            }
        }
        guard let prefix else { return nil }
        let runtime = monotonicSeconds() - start
        var metrics = Metrics()
        metrics["\(prefix)_loss"] = lossSum / Double(dataset.numSamples)
        if loss == .crossEntropy { metrics["\(prefix)_accuracy"] = Double(correct) / Double(dataset.numSamples) }
        metrics["\(prefix)_runtime"] = runtime
        metrics["\(prefix)_samples_per_second"] = Double(dataset.numSamples) / max(runtime, 1e-9)
        metrics["\(prefix)_steps_per_second"] = Double(loader.batchesPerEpoch) / max(runtime, 1e-9)
        return metrics
    }

    /// Runs `body` without autograd and with every module in evaluation mode, then restores
    /// each module's mode.
    private func inEvaluationMode<R>(_ body: () throws -> R) throws -> R {
        if let average = movingAverage, !average.swappedIn {
            return try average.withAveragedWeights { try inEvaluationMode(body) }
        }
        var modes: [Bool] = []
        model.visit(prefix: "") { _, m in modes.append(m.isTraining) }
        model.eval()
        defer {
            var i = 0
            model.visit(prefix: "") { _, m in m.isTraining = modes[i]; i += 1 }
        }
        return try withNoGrad(body)
    }

    /// Checks that the model accepts the dataset's samples (one forward pass on the first
    /// sample, in evaluation mode) and, when `needsTargets`, that its labels or targets fit
    /// the loss and the model's outputs. Returns the number of outputs per sample.
    @discardableResult
    private func check(_ dataset: Dataset, role: String, needsTargets: Bool) throws -> Int {
        try BLAS.load()
        let sample = DataLoader(dataset: dataset, batchSize: 1, shuffle: false, seed: 0, dropLast: false).batch(0)
        let out: Tensor
        do {
            out = try inEvaluationMode { try model.forward(sample.features) }
        } catch var error as SwiftTrainError {
            error.message = "the \(role)'s samples (\(dataset.numFeatures) features, shape \(dataset.sampleShape)) do not "
                + "fit the model: \(error.message)"
            throw error
        }
        guard out.rank == 2, out.shape[0] == 1 else {
            throw SwiftTrainError.shape("the model must return [batch, outputs] for the trainer; for the \(role)'s samples "
                + "(shape \(dataset.sampleShape)) it returns \(out.shape)")
        }
        let outputs = out.shape[1]
        guard needsTargets || dataset.hasTargets else { return outputs }
        switch (loss, dataset.targets) {
        case (.crossEntropy, .labels):
            do { try dataset.checkLabels(classes: outputs) } catch var error as SwiftTrainError {
                error.message = "the \(role): \(error.message)"
                throw error
            }
        case (.crossEntropy, _):
            throw SwiftTrainError.invalid("the \(role) has no integer class labels, which the cross_entropy loss needs")
        case let (.mse, .values(_, width)):
            guard width == outputs else {
                throw SwiftTrainError.shape("the \(role) has \(width) targets per sample but the model has \(outputs) outputs")
            }
        case (.mse, _):
            throw SwiftTrainError.invalid("the \(role) has no float targets, which the mse loss needs (create it as a regression dataset)")
        }
        return outputs
    }
}
