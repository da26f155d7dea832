/// What a user's compute_metrics sees after an evaluation (HF's EvalPrediction): the model's
/// outputs for every sample in order and the dataset's labels or targets.
public struct EvalPrediction {
    /// Row-major [numSamples, numOutputs]: logits for classification.
    public let predictions: [Float]
    public let numSamples: Int
    public let numOutputs: Int
    /// The class labels (cross-entropy), or nil.
    public let labelIds: UnsafeBufferPointer<Int64>?
    /// The float targets, row-major [numSamples, targetWidth] (mse), or nil.
    public let targets: UnsafeBufferPointer<Float>?
    public let targetWidth: Int
    /// The prefix the returned metrics get: "eval", or "eval_<name>" for a named dataset.
    public let metricKeyPrefix: String

    init(predictions: [Float], dataset: Dataset, metricKeyPrefix: String) {
        self.predictions = predictions
        numSamples = dataset.numSamples
        numOutputs = predictions.count / Swift.max(dataset.numSamples, 1)
        switch dataset.targets {
        case let .labels(p):
            labelIds = UnsafeBufferPointer(start: p, count: dataset.numSamples)
            targets = nil
            targetWidth = 0
        case let .values(p, width):
            labelIds = nil
            targets = UnsafeBufferPointer(start: p, count: dataset.numSamples * width)
            targetWidth = width
        case .none:
            labelIds = nil
            targets = nil
            targetWidth = 0
        }
        self.metricKeyPrefix = metricKeyPrefix
    }
}

/// A user's metrics over an evaluation: names without the prefix ("f2", or already prefixed
/// "eval_f2"); the trainer adds "<metricKeyPrefix>_" where it is missing, as HF does.
public typealias ComputeMetrics = (EvalPrediction) throws -> Metrics
