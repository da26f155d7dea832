// The training loop of Trainer.
extension Trainer {
    // MARK: - Training

    /// Trains and returns the train metrics (train_runtime, train_samples_per_second,
    /// train_steps_per_second, train_loss, epoch). Starts a fresh optimizer, schedule and
    /// state; the weights continue from where they are.
    @discardableResult
    public func train() throws -> Metrics {
        try enter("train")
        defer { running = false }
        try fireInitEndOnce()
        do {
            let metrics = try runTraining()
            try fire(.close)
            return metrics
        } catch {
            // The exception and close events run; errors they raise are not allowed to hide
            // the original one, which surfaces from train().
            try? fire(.exception)
            try? fire(.close)
            throw error
        }
    }

    private func runTraining() throws -> Metrics {
        guard let dataset = trainDataset else {
            throw SwiftTrainError.misuse("train(): no training dataset; set one before training")
        }
        try check(dataset, role: "training dataset", needsTargets: true)
        if args.evalStrategy != .no {
            guard !evalDatasets.isEmpty else {
                throw SwiftTrainError.invalid(
                    "eval_strategy is not 'no' but there is no evaluation dataset; set one or use eval_strategy 'no'")
            }
        }
        if args.evalStrategy != .no || args.evalOnStart {  // datasets never evaluated are not checked
            let evalMetrics = try checkEvalDatasets()
            let followed = args.bestModelMetric ?? (args.lrSchedulerType == .reduceLROnPlateau ? "eval_loss" : nil)
            // (compute_metrics may add names; then a missing one is found at the first evaluation)
            if let followed, !evalDatasets.isEmpty, computeMetrics == nil, !evalMetrics.contains(followed) {
                let what = args.bestModelMetric != nil ? "metric_for_best_model" : "reduce_lr_on_plateau"
                throw SwiftTrainError.invalid("\(what) follows '\(followed)', which evaluation does not produce; set "
                    + "metric_for_best_model to one of: \(evalMetrics.filter { !$0.hasSuffix("_per_second") && !$0.hasSuffix("_runtime") }.joined(separator: ", "))")
            }
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
        let parameterCount = model.parameterCount
        movingAverage = updater.average

        state = TrainerState()
        state.maxSteps = maxSteps
        state.numTrainEpochs = numEpochs
        state.trainBatchSize = args.perDeviceTrainBatchSize
        state.loggingSteps = args.resolvedLoggingSteps(total: maxSteps)
        state.evalSteps = args.resolvedEvalSteps(total: maxSteps)
        updater.applySchedule(at: 0)
        state.learningRate = updater.optimizer.paramGroups[0].learningRate
        control = TrainerControl()
        var log = LossTracker(filterNonFinite: args.loggingNanInfFilter)
        var samplesSeen = 0
        let start = monotonicSeconds()
        model.train()
        var best = BestModelTracker(args: args)
        afterEvaluation = { [unowned self] metrics in
            try best.observe(metrics, trainer: self)
            guard plateau != nil else { return }  // reduce_lr_on_plateau follows the evaluation metric
            let key = self.args.bestModelMetric ?? "eval_loss"
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
        if args.evalOnStart, !evalDatasets.isEmpty { try evaluateAll() }
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
                let window = first..<Swift.min(first + accumulation, batchesPerEpoch)
                var examples = 0
                let result = try updater.run(batches: window.count, step: state.globalStep, fetch: { i in
                    try self.fire(.beforeDataloader)
                    let batch = loader.batch(first + i)
                    examples += batch.size
                    try self.fire(.afterDataloader)
                    return batch
                }, fire: { try self.fire($0) }, microStep: { self.state.microStep += 1 })
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
                samplesSeen += examples
                state.totalFlos += 6 * Double(parameterCount) * Double(examples)

                try fire(.stepEnd)
                try maybeLogAndEvaluate(&log)
                if control.shouldTrainingStop || control.shouldEpochStop || state.globalStep >= maxSteps { break }
            }
            try fire(.epochEnd)
            try maybeLogAndEvaluate(&log)
            if control.shouldTrainingStop { break }
        }

        if args.loadBestModelAtEnd { try best.restore(into: model) }
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
    struct LossTracker {
        var sinceLog = 0.0, stepsSinceLog = 0, total = 0.0
        /// HF's logging_nan_inf_filter: a NaN or infinite step loss counts as the average of
        /// the steps since the last log.
        var filterNonFinite = true
        mutating func add(_ loss: Double) {
            var value = loss
            if filterNonFinite && !loss.isFinite { value = stepsSinceLog > 0 ? sinceLog / Double(stepsSinceLog) : 0 }
            sinceLog += value
            stepsSinceLog += 1
            total += value
        }
    }

    /// HF's best-model bookkeeping after each evaluation during training (best_metric,
    /// best_global_step, the best weights for load_best_model_at_end), and early stopping
    /// (HF's EarlyStoppingCallback rule: an evaluation that does not beat the best by more
    /// than the threshold counts toward the patience).
    struct BestModelTracker {
        let metric: String?, greaterIsBetter: Bool, patience: Int, threshold: Double, keepWeights: Bool
        var stale = 0
        var weights: [String: Tensor]?

        init(args: TrainingArguments) {
            metric = args.bestModelMetric
            greaterIsBetter = args.resolvedGreaterIsBetter
            patience = args.earlyStoppingPatience
            threshold = args.earlyStoppingThreshold
            keepWeights = args.loadBestModelAtEnd
        }

        mutating func observe(_ metrics: Metrics, trainer: Trainer) throws {
            guard let metric else { return }
            guard let value = metrics[metric] else {
                throw SwiftTrainError.invalid("metric_for_best_model '\(metric)' is not among the evaluation's metrics: "
                    + metrics.map(\.name).joined(separator: ", "))
            }
            func better(_ a: Double, than b: Double) -> Bool { greaterIsBetter ? a > b : a < b }
            let previous = trainer.state.bestMetric
            if patience > 0 {
                if let previous, !(better(value, than: previous) && Swift.abs(value - previous) > threshold) {
                    stale += 1
                } else {
                    stale = 0
                }
                if stale >= patience { trainer.control.shouldTrainingStop = true }
            }
            if previous == nil || better(value, than: previous!) {
                trainer.state.bestMetric = value
                trainer.state.bestGlobalStep = trainer.state.globalStep
                if keepWeights {  // the weights the evaluation used: the moving average's, if there is one
                    func copy() -> [String: Tensor] {
                        Dictionary(uniqueKeysWithValues: trainer.model.stateDict().map { name, t in
                            let c = Tensor(uninitialized: t.shape, dtype: t.dtype)
                            c.storage.raw.copyMemory(from: t.storage.raw, byteCount: t.count * t.dtype.size)
                            return (name, c)
                        })
                    }
                    weights = trainer.movingAverage.map { $0.withAveragedWeights(copy) } ?? copy()
                }
            }
        }

        func restore(into model: Module) throws {
            if let weights { try model.loadStateDict(weights) }
        }
    }

    func maybeLogAndEvaluate(_ tracker: inout LossTracker) throws {
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
            guard !evalDatasets.isEmpty else {
                throw SwiftTrainError.misuse("a callback requested evaluation but there is no evaluation dataset")
            }
            if args.evalStrategy == .no && !args.evalOnStart { try checkEvalDatasets() }  // not checked before training
            try evaluateAll()
        }
    }

    /// HF's setup: biases and normalisation weights in a group without weight decay, the
    /// optimizer and schedule the arguments name, and the moving average if asked for.
    func makeUpdateStep(maxSteps: Int) throws -> UpdateStep {
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

}
