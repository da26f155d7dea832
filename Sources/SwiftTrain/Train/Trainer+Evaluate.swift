// Evaluation and prediction of Trainer.
extension Trainer {
    /// The values the model's logits have per sample of `dataset` (10 for a 10-class
    /// classifier); throws, saying why, when the model does not accept its samples.
    public func numOutputs(for dataset: DataSource) throws -> Int {
        guard dataset.count != nil else {
            throw SwiftTrainError.invalid("an iterable dataset has no fixed number of outputs known before it is read; "
                + "use predictionOutput(_:) (st_trainer_predict_tensors in C), which returns outputs of any shape")
        }
        return try check(dataset, role: "dataset", needsTargets: false).outputs
    }

    // MARK: - Evaluation and prediction

    /// Adds a named evaluation dataset: its metrics are "eval_<name>_loss", ... and evaluation
    /// during training runs every named dataset in the order they were added (HF's
    /// eval_dataset dict). `name` is letters, digits, '_' or '-', unique among the trainer's
    /// evaluation datasets.
    public func addEvalDataset(_ dataset: DataSource, name: String) throws {
        try enter("addEvalDataset")
        defer { running = false }
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 == 95 || $0 == 45 || (48...57).contains($0)
                                                     || (65...90).contains($0) || (97...122).contains($0) }) else {
            throw SwiftTrainError.invalid("evaluation dataset name '\(name)' must be non-empty letters, digits, '_' or '-' "
                + "(it becomes part of metric names such as eval_<name>_loss)")
        }
        if evalDataset != nil {
            throw SwiftTrainError.misuse("the trainer has an unnamed evaluation dataset; clear it (set the evaluation "
                + "dataset to none) before adding named ones, or give every evaluation dataset a name")
        }
        if evalDatasets.contains(where: { $0.name == name }) {
            throw SwiftTrainError.invalid("the trainer already has an evaluation dataset named '\(name)'; names must be unique")
        }
        evalDatasets.append((name, dataset))
    }

    /// Evaluates on `dataset`, or on every evaluation dataset when nil. Metrics are named
    /// `metricKeyPrefix`_loss, _accuracy, ... (with _<name> after the prefix for a named
    /// dataset): loss, the built-in metrics, runtime, samples and steps per second, and
    /// epoch. Fires `.evaluateBegin`, `.log` and `.evaluate` per dataset.
    public func evaluate(_ dataset: DataSource? = nil, metricKeyPrefix: String = "eval") throws -> Metrics {
        do { return try evaluateAlone(dataset, metricKeyPrefix: metricKeyPrefix) } catch {
            processGroup?.markFailed()  // (the others wait in its collectives: see ProcessGroup)
            throw error
        }
    }

    private func evaluateAlone(_ dataset: DataSource?, metricKeyPrefix: String) throws -> Metrics {
        guard !metricKeyPrefix.isEmpty else {
            throw SwiftTrainError.invalid("evaluate: metric_key_prefix is empty; use e.g. \"eval\"")
        }
        if inEvaluateFunction {  // an evaluateFunction's own evaluation, during training
            if let dataset { try check(dataset, role: "evaluation dataset", needsTargets: true) }
            return try dataset.map { try evaluateAndReport($0, prefix: metricKeyPrefix) }
                ?? evaluateAll(prefix: metricKeyPrefix)
        }
        try enter("evaluate")
        defer { running = false }
        try fireInitEndOnce()
        if let dataset {
            try check(dataset, role: "evaluation dataset", needsTargets: true)
        } else {
            guard !evalDatasets.isEmpty else {
                throw SwiftTrainError.misuse("evaluate(): no dataset given and no evaluation dataset set")
            }
            try checkEvalDatasets()
        }
        try fire(.evaluateStandaloneBegin)
        let metrics = try dataset.map { try evaluateAndReport($0, prefix: metricKeyPrefix) }
            ?? evaluateAll(prefix: metricKeyPrefix)
        try fire(.evaluateStandaloneEnd, metrics: metrics)
        return metrics
    }

    /// Checks every evaluation dataset against the model and the loss; returns the names of
    /// the metrics an evaluation of them all reports.
    @discardableResult
    func checkEvalDatasets(prefix: String = "eval") throws -> [String] {
        var names: [String] = []
        for (name, dataset) in evalDatasets {
            let info = try check(dataset, role: name.map { "evaluation dataset '\($0)'" } ?? "evaluation dataset",
                                 needsTargets: true)
            let setPrefix = name.map { "\(prefix)_\($0)" } ?? prefix
            names += metricNames(info).map { "\(setPrefix)_\($0)" }
        }
        return names
    }

    /// The metrics runInference reports for a model's outputs, without the prefix, in order.
    func metricNames(_ info: OutputInfo) -> [String] {
        var specific: [String] = []
        if let classes = info.classes {
            specific = ["accuracy"] + (classes > 5 ? ["top5_accuracy"] : []) + ["precision_macro", "recall_macro", "f1_macro"]
        } else if info.regression {
            specific = ["mse", "mae", "r2"]
        }
        return ["loss"] + specific + ["runtime", "samples_per_second", "steps_per_second"]
    }

    /// Evaluates every evaluation dataset and returns their metrics together (one "epoch").
    @discardableResult
    func evaluateAll(prefix: String = "eval") throws -> Metrics {
        try fire(.evaluateBeforeAll)
        var all = Metrics()
        for (name, dataset) in evalDatasets {
            let metrics = try evaluateAndReport(dataset, prefix: name.map { "\(prefix)_\($0)" } ?? prefix)
            for (key, value) in metrics { all[key] = value }
        }
        try afterEvaluation?(all)
        try fire(.evaluateAfterAll, metrics: all)
        return all
    }

    func evaluateAndReport(_ dataset: DataSource, prefix: String) throws -> Metrics {
        // Data-parallel training: each process evaluates its share of a map-style set and the
        // sums are added up (not with compute_metrics, which needs every prediction: then
        // every process evaluates the whole set, with the same result).
        let group = dataset.count != nil && computeMetrics == nil ? processGroup : nil
        let loader = inferenceLoader(dataset, group: group)
        state.evalBatches = loader.batchesPerEpoch ?? 0
        defer { state.evalBatches = 0 }
        try fire(.evaluateBegin)
        var metrics = try runInference(loader, prefix: prefix, group: group).metrics!
        metrics["epoch"] = state.epoch
        try emit(metrics)
        try fire(.evaluate, metrics: metrics)
        return metrics
    }

    /// Runs the model on every sample and writes its logits, row-major, into `output`, which
    /// must hold exactly numSamples * numOutputs floats. Returns test_loss (and
    /// test_accuracy, ...) when the dataset has labels or targets.
    public func predict(_ dataset: DataSource, into output: UnsafeMutableBufferPointer<Float>) throws -> Metrics? {
        try enter("predict")
        defer { running = false }
        return try predict(dataset, info: try startPrediction(dataset), into: output)
    }

    /// Predictions as an array, row-major [numSamples, numOutputs].
    public func predict(_ dataset: DataSource) throws -> (predictions: [Float], metrics: Metrics?) {
        try enter("predict")
        defer { running = false }
        let info = try startPrediction(dataset)
        guard let n = dataset.count else {
            throw SwiftTrainError.invalid("predict: an iterable dataset has no length; use predictionOutput(_:) "
                + "(st_trainer_predict_tensors in C)")
        }
        var result = [Float](repeating: 0, count: n * info.outputs)
        let metrics = try result.withUnsafeMutableBufferPointer { try predict(dataset, info: info, into: $0) }
        return (result, metrics)
    }

    /// HF's predict: the logits of every sample and its labels, of any shape (token-level
    /// [N, T, V] too), concatenated over the batches and padded with -100 where batches
    /// differ in length; and the test metrics when the dataset has labels.
    public func predictionOutput(_ dataset: DataSource) throws -> (output: EvalPrediction, metrics: Metrics?) {
        try enter("predict")
        defer { running = false }
        try fireInitEndOnce()
        let info = try check(dataset, role: "prediction dataset", needsTargets: false)
        let loader = inferenceLoader(dataset)
        state.evalBatches = loader.batchesPerEpoch ?? 0
        defer { state.evalBatches = 0 }
        try fire(.predictBegin)
        // (an iterable dataset shows whether it has labels only as it is read)
        let result = try runInference(loader, prefix: info.hasLabels || dataset.count == nil ? "test" : nil, collect: true,
                                      metricsOnlyWithLabels: true, predicting: true)
        guard let prediction = result.prediction else {
            throw SwiftTrainError.invalid("predict: the model returned no logits (only a loss), so there is nothing to "
                + "predict; return the logits too")
        }
        try fire(.predict, metrics: result.metrics ?? Metrics())
        return (prediction, result.metrics)
    }

    /// What the model makes of the dataset's samples, once it is known to accept them.
    private func startPrediction(_ dataset: DataSource) throws -> OutputInfo {
        try fireInitEndOnce()
        return try check(dataset, role: "prediction dataset", needsTargets: false)
    }

    private func predict(_ dataset: DataSource, info: OutputInfo, into output: UnsafeMutableBufferPointer<Float>) throws -> Metrics? {
        let outputs = info.outputs
        guard let n = dataset.count else {
            throw SwiftTrainError.invalid("predict: an iterable dataset has no length, so no buffer size fits it; use "
                + "predictionOutput(_:) (st_trainer_predict_tensors in C)")
        }
        guard output.count == n * outputs else {
            throw SwiftTrainError.shape(
                "predict: the output buffer holds \(output.count) floats but \(n) samples x "
                    + "\(outputs) outputs need \(n * outputs)")
        }
        let loader = inferenceLoader(dataset)
        state.evalBatches = loader.batchesPerEpoch ?? 0
        defer { state.evalBatches = 0 }
        try fire(.predictBegin)
        let metrics = try runInference(loader, prefix: info.hasLabels ? "test" : nil,
                                       output: (output.baseAddress!, outputs), predicting: true).metrics
        try fire(.predict, metrics: metrics ?? Metrics())
        return metrics
    }

    /// Forward passes without autograd, in evaluation mode, over the loader's batches in
    /// order. Copies logits to `output` when given ([rows, width] each); returns the loss and
    /// the built-in metrics named with `prefix` when it is not nil: accuracy, top-5 accuracy
    /// (more than 5 classes) and macro precision, recall and F1 for classification (labels
    /// -100 skipped); MSE, MAE and R2 for regression; and compute_metrics' own.
    /// With `metricsOnlyWithLabels`, no metrics are returned when no batch had labels and
    /// the model returned no loss (an iterable dataset read for prediction).
    func runInference(_ loader: DataLoader, prefix: String?, output: (UnsafeMutablePointer<Float>, width: Int)? = nil,
                      collect: Bool = false, metricsOnlyWithLabels: Bool = false,
                      predicting: Bool = false, group: ProcessGroup? = nil) throws -> (metrics: Metrics?, prediction: EvalPrediction?) {
        let (batchBegin, beforeForward, afterForward): (TrainerEvent, TrainerEvent, TrainerEvent) = predicting
            ? (.predictBatchBegin, .predictBeforeForward, .predictAfterForward)
            : (.evaluateBatchBegin, .evaluateBeforeForward, .evaluateAfterForward)
        let start = monotonicSeconds()
        var lossSum = 0.0, lossItems = 0, row = 0, batches = 0
        var classification: ClassificationMetrics?, regression: RegressionMetrics?
        var predictions = Concatenation(), labels = Concatenation()
        let collecting = collect || (prefix != nil && computeMetrics != nil)
        let resolver = losses
        // Each batch's events see that batch and its outputs, no loss; what a training step
        // had (an evaluation at its end) is back afterwards, also after a failure.
        let step = (eventData.batch, eventData.outputs, eventData.loss)
        defer { (eventData.batch, eventData.outputs, eventData.loss) = step }
        try inEvaluationMode {
            while var batch = try loader.batch(batches) {
                if batch.size == 0 { batches += 1; continue }  // (this process's empty share of a last batch)
                var out: ModelOutput
                // (a callback may replace the batch before the forward, keeping its size, and
                // the outputs after it)
                (eventData.batch, eventData.outputs, eventData.loss) = (batch, nil, nil)
                try fire(batchBegin)
                try fire(beforeForward)
                if let replaced = eventData.batch, replaced.size != batch.size {
                    throw SwiftTrainError.shape("evaluation batch \(batches): a callback replaced the batch of \(batch.size) "
                        + "samples with one of \(replaced.size) at \(beforeForward.hfName); keep its number of samples")
                }
                batch = eventData.batch ?? batch
                do { out = try model.forward(batch: batch) } catch var error as SwiftTrainError {
                    error.message = "evaluation batch \(batches): \(error.message)"
                    throw error
                }
                eventData.outputs = out
                try fire(afterForward)
                out = eventData.outputs ?? out
                let logits = out.logits
                if let (buffer, width) = output {
                    guard let logits, logits.dtype == .float32, logits.count == batch.size * width else {
                        throw SwiftTrainError.shape("evaluation batch \(batches): the model returned \(logits.map { "\($0.shape)" } ?? "no logits") "
                            + "for \(batch.size) samples; predict needs \(width) values per sample")
                    }
                    (buffer + row * width).update(from: logits.data, count: logits.count)
                }
                if collecting {  // (float32 predictions; int64 or float32 labels)
                    if let logits { try predictions.append(logits.dtype == .float32 ? logits : try logits.to(.float32)) }
                    if let l = batch.labels { try labels.append(l.dtype == .bool ? try l.to(.int64) : l) }
                }
                row += batch.size
                batches += 1
                (eventData.batch, eventData.outputs) = (batch, out)
                try fire(.predictionStep)
                guard prefix != nil else { continue }
                do {
                    if let (sum, items) = try resolver.evaluationLoss(out, batch) { lossSum += sum; lossItems += items }
                } catch var error as SwiftTrainError {
                    error.message = "evaluation batch \(batches - 1): \(error.message)"
                    throw error
                }
                guard let logits, let l = batch.labels else { continue }
                if let (rows, classes) = classificationRows(logits, l) {
                    if classification == nil { classification = ClassificationMetrics(classes: classes, topK: 5) }
                    if classification!.classes == classes { classification!.add(logits: logits.data, rows: rows, labels: l.int64Data) }
                } else if isRegression(logits, l) {
                    let width = logits.count / Swift.max(batch.size, 1)
                    if regression == nil { regression = RegressionMetrics(width: width) }
                    if regression!.width == width { regression!.add(predictions: logits.data, targets: l.data, rows: batch.size) }
                }
            }
        }
        if let group {  // the processes' sums added up, the metrics computed from the totals
            var shapes = [Double(classification?.classes ?? 0), Double(regression?.width ?? 0)]
            try group.max(&shapes)
            if classification == nil && shapes[0] > 0 { classification = ClassificationMetrics(classes: Int(shapes[0]), topK: 5) }
            if regression == nil && shapes[1] > 0 { regression = RegressionMetrics(width: Int(shapes[1])) }
            var totals = [lossSum, Double(lossItems), Double(row)] + (classification?.sums ?? []) + (regression?.sums ?? [])
            try group.sum(&totals)
            (lossSum, lossItems, row) = (totals[0], Int(totals[1]), Int(totals[2]))
            var rest = totals.dropFirst(3)
            if let c = classification?.sums.count { classification!.sums = Array(rest.prefix(c)); rest = rest.dropFirst(c) }
            if regression != nil { regression!.sums = Array(rest) }
        }
        guard batches > 0 else {
            throw SwiftTrainError.invalid("the dataset yielded no batch to \(prefix == "test" || prefix == nil ? "predict" : "evaluate") "
                + "(an iterable dataset must yield at least one)")
        }
        let prediction = collecting && !predictions.parts.isEmpty
            ? EvalPrediction(predictions: predictions, labels: labels.parts.isEmpty ? nil : labels, metricKeyPrefix: prefix ?? "test")
            : nil
        guard let prefix, !(metricsOnlyWithLabels && labels.parts.isEmpty && lossItems == 0) else { return (nil, prediction) }
        var metrics = Metrics()
        metrics["\(prefix)_loss"] = lossItems > 0 ? lossSum / Double(lossItems) : .nan
        if let c = classification {
            metrics["\(prefix)_accuracy"] = c.accuracy
            if c.classes > 5 { metrics["\(prefix)_top5_accuracy"] = c.topKAccuracy }
            metrics["\(prefix)_precision_macro"] = c.precisionMacro
            metrics["\(prefix)_recall_macro"] = c.recallMacro
            metrics["\(prefix)_f1_macro"] = c.f1Macro
        }
        if let r = regression {
            metrics["\(prefix)_mse"] = r.mse
            metrics["\(prefix)_mae"] = r.mae
            metrics["\(prefix)_r2"] = r.r2
        }
        if let computeMetrics, let p = prediction {  // (built above with this prefix)
            let user = try computeMetrics(p)
            for (name, value) in user {
                guard !name.isEmpty else {
                    throw SwiftTrainError.invalid("compute_metrics returned a metric with an empty name")
                }
                metrics[name.hasPrefix("\(prefix)_") ? name : "\(prefix)_\(name)"] = value
            }
        }
        let runtime = monotonicSeconds() - start
        metrics["\(prefix)_runtime"] = runtime
        metrics["\(prefix)_samples_per_second"] = Double(row) / max(runtime, 1e-9)
        metrics["\(prefix)_steps_per_second"] = Double(batches) / max(runtime, 1e-9)
        return (metrics, prediction)
    }

    /// The rows and classes of a classification batch for the built-in metrics: logits
    /// [N, C] with labels [N], or [N, T, C] with [N, T]; nil otherwise.
    func classificationRows(_ logits: Tensor, _ labels: Tensor) -> (rows: Int, classes: Int)? {
        guard loss.takesClassLabels, labels.dtype == .int64, logits.dtype == .float32, logits.rank >= 2 else { return nil }
        if logits.rank == 2, labels.shape == [logits.shape[0]] { return (logits.shape[0], logits.shape[1]) }
        if labels.shape == Array(logits.shape.dropLast()) { return (labels.count, logits.shape[logits.rank - 1]) }
        return nil
    }

    /// Whether a batch gets the regression metrics (a regression loss, float targets with one
    /// value per output).
    func isRegression(_ logits: Tensor, _ labels: Tensor) -> Bool {
        [.mse, .l1, .smoothL1, .huber].contains(loss) && labels.dtype == .float32 && logits.dtype == .float32
            && labels.count == logits.count && logits.rank >= 1
    }

    /// The batches of an evaluation or prediction: in order, per_device_eval_batch_size each.
    func inferenceLoader(_ dataset: DataSource, group: ProcessGroup? = nil) -> DataLoader {
        DataLoader(source: dataset, batchSize: args.perDeviceEvalBatchSize, shuffle: false, seed: 0, dropLast: false,
                   labelNames: args.labelNames, rank: group?.rank ?? 0, worldSize: group?.size ?? 1)
    }

    /// Runs `body` without autograd and with every module in evaluation mode, then restores
    /// each module's mode.
    func inEvaluationMode<R>(_ body: () throws -> R) throws -> R {
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

    /// What the model produces for a dataset's samples.
    struct OutputInfo {
        /// Logit values per sample (0 when the model returns only a loss).
        var outputs = 0
        /// The classes, when evaluation reports classification metrics.
        var classes: Int?
        /// Whether evaluation reports regression metrics.
        var regression = false
        /// Whether the samples have labels.
        var hasLabels = false
    }

    /// Checks that the model accepts the dataset's samples (one forward pass on the first
    /// sample, in evaluation mode) and, when `needsTargets`, that a loss can be computed: for
    /// the built-in loss, that the labels or targets fit it and the model's outputs. An
    /// iterable dataset is checked batch by batch as it is read instead.
    @discardableResult
    func check(_ dataset: DataSource, role: String, needsTargets: Bool) throws -> OutputInfo {
        try BLAS.load()
        try DataLoader.checkCount(dataset)
        guard let n = dataset.count else { return OutputInfo(hasLabels: true) }
        guard n > 0 else { throw SwiftTrainError.invalid("the \(role) is empty") }
        let sample = try DataLoader(source: dataset, batchSize: 1, shuffle: false, seed: 0, dropLast: false,
                                    labelNames: args.labelNames).batch(0)!
        var info = OutputInfo(hasLabels: sample.labels != nil)
        let memory = dataset as? Dataset
        let resolver = losses
        return try inEvaluationMode {
            let out: ModelOutput
            do {
                out = try model.forward(batch: sample)
            } catch var error as SwiftTrainError {
                error.message = (memory.map { "the \(role)'s samples (\($0.numFeatures) features, shape \($0.sampleShape)) do not" }
                    ?? "the \(role)'s first sample (\(sample.summary)) does not") + " fit the model: \(error.message)"
                throw error
            }
            let logits = out.logits
            info.outputs = logits.map { $0.count / Swift.max(sample.size, 1) } ?? 0
            if let logits, let labels = sample.labels {
                info.classes = classificationRows(logits, labels)?.classes
                info.regression = info.classes == nil && isRegression(logits, labels)
            }
            if let memory, out.loss == nil, computeLoss == nil {
                try checkInMemory(memory, logits, role: role, needsTargets: needsTargets)
                if loss.takesClassLabels, memory.hasTargets { info.classes = info.outputs }
                return info
            }
            guard needsTargets || sample.labels != nil else { return info }
            let computed: (sum: Double, items: Int)?
            do { computed = try resolver.evaluationLoss(out, sample) } catch var error as SwiftTrainError {
                error.message = "the \(role)'s first sample (\(sample.summary)): \(error.message)"
                throw error
            }
            if needsTargets && computed == nil {
                throw SwiftTrainError.invalid("the \(role) gives no loss: the model returned no \"loss\" and its samples have no "
                    + "labels (label_names: \(args.labelNames.joined(separator: ", ")); the first sample has \(sample.summary))")
            }
            return info
        }
    }

    /// The checks of an in-memory dataset under the built-in loss: logits [1, outputs] for
    /// one sample, and every label or target fitting the loss and the outputs.
    private func checkInMemory(_ dataset: Dataset, _ logits: Tensor?, role: String, needsTargets: Bool) throws {
        guard let logits, logits.rank == 2, logits.shape[0] == 1 else {
            throw SwiftTrainError.shape("the model must return [batch, outputs] for the trainer; for the \(role)'s samples "
                + "(shape \(dataset.sampleShape)) it returns \(logits.map { "\($0.shape)" } ?? "no logits")")
        }
        let outputs = logits.shape[1]
        guard needsTargets || dataset.hasTargets else { return }
        switch dataset.targets {
        case .labels where loss.takesClassLabels:
            do { try dataset.checkLabels(classes: outputs) } catch var error as SwiftTrainError {
                error.message = "the \(role): \(error.message)"
                throw error
            }
        case let .values(_, width) where !loss.takesClassLabels:
            guard width == outputs else {
                throw SwiftTrainError.shape("the \(role) has \(width) targets per sample but the model has \(outputs) outputs")
            }
        default:
            if loss.takesClassLabels {
                throw SwiftTrainError.invalid("the \(role) has no integer class labels, which the \(loss.name) loss needs")
            }
            throw SwiftTrainError.invalid("the \(role) has no float targets, which the \(loss.name) loss needs (create it as a regression dataset)")
        }
    }
}
