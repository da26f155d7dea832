/// torch.nn.LayerNorm over the last dimensions; weight ones, bias zeros.
public final class LayerNorm: Module {
    public let normalizedShape: [Int], eps: Float
    public let weight: Tensor?, bias: Tensor?
    public var isTraining = true

    public init(_ normalizedShape: [Int], eps: Float = LayerDefaults.layerNorm.eps,
                elementwiseAffine: Bool = LayerDefaults.layerNorm.elementwiseAffine,
                bias: Bool = LayerDefaults.layerNorm.bias) throws {
        guard !normalizedShape.isEmpty, normalizedShape.allSatisfy({ $0 > 0 }) else {
            throw SwiftTrainError.invalid("LayerNorm: normalized_shape must be non-empty and positive, got \(normalizedShape)")
        }
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? try Init.constant(normalizedShape, 1) : nil
        self.bias = elementwiseAffine && bias ? try Init.constant(normalizedShape, 0) : nil
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        try input.layerNorm(normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
    public var ownParameters: [(String, Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }
    public var excludedFromWeightDecay: Bool { true }
    public var description: String { "LayerNorm(\(normalizedShape), eps=\(eps))" }
}

/// torch.nn.BatchNorm1d ([N, C] or [N, C, L]) and BatchNorm2d ([N, C, H, W]): per-channel
/// normalisation with running statistics used in evaluation mode.
public final class BatchNorm: Module {
    public let numFeatures: Int, eps: Float, momentum: Float
    public let weight: Tensor?, bias: Tensor?
    public let runningMean: Tensor?, runningVar: Tensor?, numBatchesTracked: Tensor?
    /// The input ranks accepted: [2, 3] for BatchNorm1d, [4] for BatchNorm2d.
    let ranks: [Int]
    let name: String
    public var isTraining = true

    init(_ name: String, ranks: [Int], numFeatures: Int, eps: Float, momentum: Float, affine: Bool,
         trackRunningStats: Bool) throws {
        try Init.positive(numFeatures, names: ["num_features"], in: name)
        self.name = name
        self.ranks = ranks
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        weight = affine ? try Init.constant([numFeatures], 1) : nil
        bias = affine ? try Init.constant([numFeatures], 0) : nil
        runningMean = trackRunningStats ? try Init.constant([numFeatures], 0, requiresGrad: false) : nil
        runningVar = trackRunningStats ? try Init.constant([numFeatures], 1, requiresGrad: false) : nil
        numBatchesTracked = trackRunningStats ? Tensor.zeros([], dtype: .int64) : nil
    }

    public static func oneD(_ numFeatures: Int, eps: Float = LayerDefaults.batchNorm.eps,
                            momentum: Float = LayerDefaults.batchNorm.momentum, affine: Bool = LayerDefaults.batchNorm.affine,
                            trackRunningStats: Bool = LayerDefaults.batchNorm.trackRunningStats) throws -> BatchNorm {
        try BatchNorm("BatchNorm1d", ranks: [2, 3], numFeatures: numFeatures, eps: eps, momentum: momentum,
                      affine: affine, trackRunningStats: trackRunningStats)
    }

    public static func twoD(_ numFeatures: Int, eps: Float = LayerDefaults.batchNorm.eps,
                            momentum: Float = LayerDefaults.batchNorm.momentum, affine: Bool = LayerDefaults.batchNorm.affine,
                            trackRunningStats: Bool = LayerDefaults.batchNorm.trackRunningStats) throws -> BatchNorm {
        try BatchNorm("BatchNorm2d", ranks: [4], numFeatures: numFeatures, eps: eps, momentum: momentum,
                      affine: affine, trackRunningStats: trackRunningStats)
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        guard ranks.contains(input.rank) else {
            throw SwiftTrainError.shape("\(name): expected a \(ranks.map(String.init).joined(separator: "-D or "))-D input, got shape \(input.shape)")
        }
        let useBatchStats = isTraining || runningMean == nil
        if isTraining, let n = numBatchesTracked { n.int64Data[0] += 1 }
        return try input.batchNorm(runningMean: isTraining ? runningMean : runningMean, runningVar: runningVar,
                                   weight: weight, bias: bias, training: useBatchStats, momentum: momentum, eps: eps)
    }
    public var ownParameters: [(String, Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }
    public var ownBuffers: [(String, Tensor)] {
        guard let runningMean, let runningVar, let numBatchesTracked else { return [] }
        return [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }
    public var description: String { "\(name)(\(numFeatures), eps=\(eps), momentum=\(momentum))" }
}
