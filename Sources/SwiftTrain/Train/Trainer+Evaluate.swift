// Evaluation and prediction of Trainer.
extension Trainer {
    /// The number of outputs the model produces per sample of `dataset` (10 for a 10-class
    /// classifier); throws, saying why, when the model does not accept its samples.
    public func numOutputs(for dataset: Dataset) throws -> Int {
        try check(dataset, role: "dataset", needsTargets: false)
    }

    // MARK: - Evaluation and prediction

    /// Adds a named evaluation dataset: its metrics are "eval_<name>_loss", ... and evaluation
    /// during training runs every named dataset in the order they were added (HF's
    /// eval_dataset dict). `name` is letters, digits, '_' or '-', unique among the trainer's
    /// evaluation datasets.
    public func addEvalDataset(_ dataset: Dataset, name: String) throws {
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
    public func evaluate(_ dataset: Dataset? = nil, metricKeyPrefix: String = "eval") throws -> Metrics {
        try enter("evaluate")
        defer { running = false }
        try fireInitEndOnce()
        guard !metricKeyPrefix.isEmpty else {
            throw SwiftTrainError.invalid("evaluate: metric_key_prefix is empty; use e.g. \"eval\"")
        }
        if let dataset {
            try check(dataset, role: "evaluation dataset", needsTargets: true)
            return try evaluateAndReport(dataset, prefix: metricKeyPrefix)
        }
        guard !evalDatasets.isEmpty else {
            throw SwiftTrainError.misuse("evaluate(): no dataset given and no evaluation dataset set")
        }
        try checkEvalDatasets()
        return try evaluateAll(prefix: metricKeyPrefix)
    }

    /// Checks every evaluation dataset against the model and the loss; returns the names of
    /// the metrics an evaluation of them all reports.
    @discardableResult
    func checkEvalDatasets(prefix: String = "eval") throws -> [String] {
        var names: [String] = []
        for (name, dataset) in evalDatasets {
            let outputs = try check(dataset, role: name.map { "evaluation dataset '\($0)'" } ?? "evaluation dataset",
                                    needsTargets: true)
            let setPrefix = name.map { "\(prefix)_\($0)" } ?? prefix
            names += metricNames(outputs: outputs).map { "\(setPrefix)_\($0)" }
        }
        return names
    }

    /// The metrics runInference reports for a model with `outputs` outputs, without the
    /// prefix, in order.
    func metricNames(outputs: Int) -> [String] {
        let specific: [String]
        switch loss {
        case .crossEntropy:
            specific = ["accuracy"] + (outputs > 5 ? ["top5_accuracy"] : []) + ["precision_macro", "recall_macro", "f1_macro"]
        case .mse:
            specific = ["mse", "mae", "r2"]
        }
        return ["loss"] + specific + ["runtime", "samples_per_second", "steps_per_second"]
    }

    /// Evaluates every evaluation dataset and returns their metrics together (one "epoch").
    @discardableResult
    func evaluateAll(prefix: String = "eval") throws -> Metrics {
        var all = Metrics()
        for (name, dataset) in evalDatasets {
            let metrics = try evaluateAndReport(dataset, prefix: name.map { "\(prefix)_\($0)" } ?? prefix)
            for (key, value) in metrics { all[key] = value }
        }
        try afterEvaluation?(all)
        return all
    }

    func evaluateAndReport(_ dataset: Dataset, prefix: String) throws -> Metrics {
        let loader = inferenceLoader(dataset)
        state.evalBatches = loader.batchesPerEpoch
        defer { state.evalBatches = 0 }
        try fire(.evaluateBegin)
        var metrics = try runInference(dataset, loader, prefix: prefix, output: nil)!
        metrics["epoch"] = state.epoch
        try record(metrics)
        try fire(.evaluate, metrics: metrics)
        return metrics
    }

    /// Runs the model on every row and writes the outputs, row-major, into `output`, which
    /// must hold exactly numSamples * numOutputs floats. Returns test_loss (and
    /// test_accuracy) when the dataset has labels or targets.
    public func predict(_ dataset: Dataset, into output: UnsafeMutableBufferPointer<Float>) throws -> Metrics? {
        try enter("predict")
        defer { running = false }
        return try predict(dataset, outputs: try startPrediction(dataset), into: output)
    }

    /// Predictions as an array, row-major [numSamples, numOutputs].
    public func predict(_ dataset: Dataset) throws -> (predictions: [Float], metrics: Metrics?) {
        try enter("predict")
        defer { running = false }
        let outputs = try startPrediction(dataset)
        var result = [Float](repeating: 0, count: dataset.numSamples * outputs)
        let metrics = try result.withUnsafeMutableBufferPointer { try predict(dataset, outputs: outputs, into: $0) }
        return (result, metrics)
    }

    /// The number of outputs per sample, once the model is known to accept the dataset.
    private func startPrediction(_ dataset: Dataset) throws -> Int {
        try fireInitEndOnce()
        return try check(dataset, role: "prediction dataset", needsTargets: false)
    }

    private func predict(_ dataset: Dataset, outputs: Int, into output: UnsafeMutableBufferPointer<Float>) throws -> Metrics? {
        guard output.count == dataset.numSamples * outputs else {
            throw SwiftTrainError.shape(
                "predict: the output buffer holds \(output.count) floats but \(dataset.numSamples) samples x "
                    + "\(outputs) outputs need \(dataset.numSamples * outputs)")
        }
        let loader = inferenceLoader(dataset)
        state.evalBatches = loader.batchesPerEpoch
        defer { state.evalBatches = 0 }
        try fire(.predictBegin)
        let metrics = try runInference(dataset, loader, prefix: dataset.hasTargets ? "test" : nil, output: output.baseAddress!)
        try fire(.predict, metrics: metrics ?? Metrics())
        return metrics
    }

    /// Forward passes without autograd, in evaluation mode, over `dataset` in order. Copies
    /// outputs to `output` when given; returns the loss and the built-in metrics named with
    /// `prefix` when it is not nil: accuracy, top-5 accuracy (more than 5 classes) and macro
    /// precision, recall and F1 for classification; MSE, MAE and R2 for regression.
    func runInference(_ dataset: Dataset, _ loader: DataLoader, prefix: String?,
                      output: UnsafeMutablePointer<Float>?) throws -> Metrics? {
        let start = monotonicSeconds()
        var lossSum = 0.0, row = 0
        var classification: ClassificationMetrics?, regression: RegressionMetrics?
        var collected: [Float] = []  // every output, for compute_metrics
        let collecting = prefix != nil && computeMetrics != nil
        try inEvaluationMode {
            for index in 0..<loader.batchesPerEpoch {
                let batch = loader.batch(index)
                let out = try model.forward(batch.features)
                let width = out.count / Swift.max(batch.size, 1)
                output.map { ($0 + row * width).update(from: out.data, count: out.count) }
                if collecting {
                    if collected.isEmpty { collected.reserveCapacity(dataset.numSamples * width) }
                    collected.append(contentsOf: UnsafeBufferPointer(start: out.data, count: out.count))
                }
                row += batch.size
                try fire(.predictionStep)
                guard prefix != nil else { continue }
                switch loss {
                case .crossEntropy:
                    let labels = batch.labels!
                    lossSum += Double(try crossEntropy(out, target: labels, reduction: .sum).item())
                    if classification == nil { classification = ClassificationMetrics(classes: width, topK: 5) }
                    classification!.add(logits: out.data, rows: batch.size, labels: labels.int64Data)
                case .mse:
                    lossSum += Double(try mseLoss(out, batch.targets!, reduction: .sum).item()) / Double(width)
                    if regression == nil { regression = RegressionMetrics(width: width) }
                    regression!.add(predictions: out.data, targets: batch.targets!.data, rows: batch.size)
                }
            }
        }
        guard let prefix else { return nil }
        var metrics = Metrics()
        metrics["\(prefix)_loss"] = lossSum / Double(dataset.numSamples)
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
        if collecting, let computeMetrics {
            let user = try computeMetrics(EvalPrediction(predictions: collected, dataset: dataset, metricKeyPrefix: prefix))
            for (name, value) in user {
                guard !name.isEmpty else {
                    throw SwiftTrainError.invalid("compute_metrics returned a metric with an empty name")
                }
                metrics[name.hasPrefix("\(prefix)_") ? name : "\(prefix)_\(name)"] = value
            }
        }
        let runtime = monotonicSeconds() - start
        metrics["\(prefix)_runtime"] = runtime
        metrics["\(prefix)_samples_per_second"] = Double(dataset.numSamples) / max(runtime, 1e-9)
        metrics["\(prefix)_steps_per_second"] = Double(loader.batchesPerEpoch) / max(runtime, 1e-9)
        return metrics
    }

    /// The batches of an evaluation or prediction: in order, per_device_eval_batch_size each.
    func inferenceLoader(_ dataset: Dataset) -> DataLoader {
        DataLoader(dataset: dataset, batchSize: args.perDeviceEvalBatchSize, shuffle: false, seed: 0, dropLast: false)
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

    /// Checks that the model accepts the dataset's samples (one forward pass on the first
    /// sample, in evaluation mode) and, when `needsTargets`, that its labels or targets fit
    /// the loss and the model's outputs. Returns the number of outputs per sample.
    @discardableResult
    func check(_ dataset: Dataset, role: String, needsTargets: Bool) throws -> Int {
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
