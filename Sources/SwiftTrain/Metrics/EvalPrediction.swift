/// What a user's compute_metrics sees after an evaluation (HF's EvalPrediction): the model's
/// outputs for every sample in order and the labels, each concatenated over the batches.
/// Where batches differ in a dimension after the first (sequences of different lengths),
/// shorter ones are padded with -100, as HF's Trainer does.
public struct EvalPrediction {
    /// Row-major, shape `predictionShape` ([numSamples, numOutputs] for a classifier's logits).
    public let predictions: [Float]
    public let predictionShape: [Int]
    public var numSamples: Int { predictionShape.first ?? 0 }
    /// The values per sample (the product of predictionShape after the first).
    public var numOutputs: Int { predictionShape.dropFirst().reduce(1, *) }
    /// int64 labels (class indices; -100 marks padding and ignored positions), or nil.
    public let labelIds: [Int64]?
    /// float32 targets, or nil.
    public let targets: [Float]?
    /// The labels' shape ([numSamples] for one class per sample); [] without labels.
    public let labelShape: [Int]
    /// The values per sample of `targets` (0 without float targets).
    public var targetWidth: Int { targets == nil ? 0 : labelShape.dropFirst().reduce(1, *) }
    /// The prefix the returned metrics get: "eval", or "eval_<name>" for a named dataset.
    public let metricKeyPrefix: String

    init(predictions: Concatenation, labels: Concatenation?, metricKeyPrefix: String) {
        (self.predictions, predictionShape) = predictions.floats()
        if let labels, labels.dtype == .int64 {
            let (values, shape) = labels.int64s()
            (labelIds, targets, labelShape) = (values, nil, shape)
        } else if let labels {
            let (values, shape) = labels.floats()
            (labelIds, targets, labelShape) = (nil, values, shape)
        } else {
            (labelIds, targets, labelShape) = (nil, nil, [])
        }
        self.metricKeyPrefix = metricKeyPrefix
    }
}

/// A user's metrics over an evaluation: names without the prefix ("f2", or already prefixed
/// "eval_f2"); the trainer adds "<metricKeyPrefix>_" where it is missing, as HF does.
public typealias ComputeMetrics = (EvalPrediction) throws -> Metrics

/// Tensors of the batches of an evaluation, joined along the first dimension; dimensions
/// after the first are padded to the largest with -100 where they differ (HF's
/// nested_concat with padding_index -100).
struct Concatenation {
    private(set) var parts: [Tensor] = []
    var dtype: DType { parts.first?.dtype ?? .float32 }

    mutating func append(_ t: Tensor) throws {
        guard t.dtype == .float32 || t.dtype == .int64 else {
            throw SwiftTrainError.invalid("evaluation collects float32 or int64 tensors, got \(t.dtype) \(t.shape)")
        }
        if let first = parts.first, first.rank != t.rank || first.dtype != t.dtype {
            throw SwiftTrainError.shape("batches of one evaluation differ in rank or dtype: \(first.dtype) \(first.shape) "
                + "and \(t.dtype) \(t.shape)")
        }
        parts.append(t)
    }

    /// The joined shape: the rows summed, every other dimension the largest.
    var shape: [Int] {
        guard let first = parts.first else { return [] }
        var shape = first.shape
        for t in parts.dropFirst() {
            if shape.isEmpty { continue }
            shape[0] += t.shape[0]
            for d in 1..<shape.count { shape[d] = Swift.max(shape[d], t.shape[d]) }
        }
        return shape
    }

    private func joined<T>(_ pad: T, _ read: (Tensor) -> UnsafeMutablePointer<T>) -> ([T], [Int]) {
        let shape = self.shape
        guard !shape.isEmpty else {  // scalars: one per batch
            return (parts.map { read($0)[0] }, [parts.count])
        }
        var out = [T](repeating: pad, count: shape.reduce(1, *))
        let inner = Array(shape.dropFirst())
        let rowSize = inner.reduce(1, *)
        var row = 0
        for t in parts {
            let src = read(t), tInner = Array(t.shape.dropFirst())
            let tRow = tInner.reduce(1, *)
            if tInner == inner {
                out.withUnsafeMutableBufferPointer { ($0.baseAddress! + row * rowSize).update(from: src, count: t.count) }
            } else {  // copy element by element into the padded layout
                for r in 0..<t.shape[0] {
                    for j in 0..<tRow {
                        var rem = j, offset = 0, step = 1
                        for d in (0..<tInner.count).reversed() {
                            offset += (rem % tInner[d]) * step
                            rem /= tInner[d]
                            step *= inner[d]
                        }
                        out[(row + r) * rowSize + offset] = src[r * tRow + j]
                    }
                }
            }
            row += t.shape[0]
        }
        return (out, shape)
    }

    func floats() -> ([Float], [Int]) { joined(-100, { $0.data }) }
    func int64s() -> ([Int64], [Int]) { joined(-100, { $0.int64Data }) }
}
