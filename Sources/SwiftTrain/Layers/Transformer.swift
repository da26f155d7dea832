/// torch.nn.MultiheadAttention: parameters in_proj_weight [3E, E] (Xavier uniform),
/// in_proj_bias [3E] (zeros) and out_proj (Linear(E, E), bias zeros). Inputs are
/// [batch, seq, E] when `batchFirst`, else [seq, batch, E] (PyTorch's default).
public final class MultiheadAttention: Module {
    public let embedDim: Int, numHeads: Int, batchFirst: Bool, dropout: Float
    public let inProjWeight: Tensor, inProjBias: Tensor?
    public let outProj: Linear
    public var isTraining = true

    public init(embedDim: Int, numHeads: Int, dropout: Float = LayerDefaults.multiheadAttention.dropout,
                bias: Bool = LayerDefaults.multiheadAttention.bias, batchFirst: Bool = LayerDefaults.multiheadAttention.batchFirst) throws {
        try Init.positive(embedDim, numHeads, names: ["embed_dim", "num_heads"], in: "MultiheadAttention")
        guard embedDim % numHeads == 0 else {
            throw SwiftTrainError.invalid("MultiheadAttention: embed_dim \(embedDim) must be divisible by num_heads \(numHeads)")
        }
        guard dropout >= 0, dropout < 1 else { throw SwiftTrainError.invalid("MultiheadAttention: dropout must be in [0, 1), got \(dropout)") }
        self.embedDim = embedDim
        self.numHeads = numHeads
        self.batchFirst = batchFirst
        self.dropout = dropout
        inProjWeight = try Init.uniform([3 * embedDim, embedDim], bound: (6 / Float(4 * embedDim)).squareRoot())
        inProjBias = bias ? try Init.constant([3 * embedDim], 0) : nil
        outProj = try Linear(embedDim, embedDim, bias: bias)
        if let b = outProj.bias { b.data.update(repeating: 0, count: embedDim) }
    }

    /// Self-attention of `input` with itself.
    public func forward(_ input: Tensor) throws -> Tensor { try attention(query: input, key: input, value: input).output }

    /// Attention of `query` over `key`/`value`. `mask` [L, S] or [batch * heads, L, S]: bool
    /// true = may NOT attend (PyTorch's convention here), or float added to the scores.
    /// Returns the output and, with `needWeights`, the attention weights averaged over heads
    /// ([batch, L, S]) or per head ([batch, heads, L, S]).
    public func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, isCausal: Bool = false,
                          needWeights: Bool = false, averageWeights: Bool = true) throws -> (output: Tensor, weights: Tensor?) {
        let op = "MultiheadAttention"
        for t in [query, key, value] where t.rank != 3 || t.shape[2] != embedDim {
            throw SwiftTrainError.shape("\(op): inputs must be 3-D with \(embedDim) features, got \(t.shape)")
        }
        var (q, k, v) = (query, key, value)
        if !batchFirst { (q, k, v) = (try q.transpose(0, 1), try k.transpose(0, 1), try v.transpose(0, 1)) }
        let (b, l, s, e, h) = (q.shape[0], q.shape[1], k.shape[1], embedDim, numHeads)
        guard k.shape[0] == b, v.shape[0] == b, v.shape[1] == s else {
            throw SwiftTrainError.shape("\(op): query \(query.shape), key \(key.shape) and value \(value.shape) do not fit")
        }
        let weights = try inProjWeight.split(size: e, dim: 0)
        let biases = try inProjBias?.split(size: e, dim: 0)
        func heads(_ x: Tensor, _ i: Int, _ n: Int) throws -> Tensor {  // [b, n, e] -> [b, h, n, e/h]
            try x.linear(weight: weights[i], bias: biases?[i]).reshape([b, n, h, e / h]).permute([0, 2, 1, 3])
        }
        let (qh, kh, vh) = (try heads(q, 0, l), try heads(k, 1, s), try heads(v, 2, s))
        var scores = try batchedMatmul(qh, kh, transposeB: true, op: op, shapes: (qh.shape, kh.shape)) * (1 / Float(e / h).squareRoot())
        if isCausal && mask == nil {
            try Tensor.checkShape([l, s], op)
            let blocked = try Tensor(shape: [l, s], boolValues: (0..<(l * s)).map { $0 % s > $0 / s })
            scores = try `where`(blocked, try Tensor.full([], -.infinity), scores)
        }
        if let mask {
            guard mask.shape == [l, s] || mask.shape == [b * h, l, s] else {
                throw SwiftTrainError.shape("\(op): mask shape \(mask.shape) must be [L, S] = [\(l), \(s)] or "
                    + "[batch * heads, L, S] = [\(b * h), \(l), \(s)]")
            }
            let shaped = mask.rank == 3 ? try mask.reshape([b, h, l, s]) : mask
            switch mask.dtype {
            case .bool: scores = try `where`(shaped, try Tensor.full([], -.infinity), scores)
            case .float32: scores = try scores + shaped
            case .int64: throw SwiftTrainError(.invalidArgument, "\(op): the mask must be bool or float32, got int64")
            }
        }
        var probabilities = try scores.softmax(dim: -1)
        if isTraining && dropout > 0 {
            probabilities = try DefaultGenerator.withGenerator { try probabilities.dropout(p: dropout, training: true, generator: &$0) }
        }
        let context = try batchedMatmul(probabilities, vh, transposeB: false, op: op, shapes: (probabilities.shape, vh.shape))
        var output = try outProj.forward(try context.permute([0, 2, 1, 3]).reshape([b, l, e]))
        if !batchFirst { output = try output.transpose(0, 1) }
        guard needWeights else { return (output, nil) }
        return (output, averageWeights ? try probabilities.mean(dims: [1]) : probabilities)
    }

    public var ownParameters: [(String, Tensor)] {
        [("in_proj_weight", inProjWeight)] + (inProjBias.map { [("in_proj_bias", $0)] } ?? [])
    }
    public var children: [(String, Module)] { [("out_proj", outProj)] }
    public var description: String { "MultiheadAttention(embed_dim=\(embedDim), num_heads=\(numHeads))" }
}

/// torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a
/// residual connection and layer norm (after, or before with `normFirst`); PyTorch's defaults
/// (`LayerDefaults.transformerEncoderLayer`).
public final class TransformerEncoderLayer: Module {
    public let selfAttention: MultiheadAttention
    public let linear1: Linear, linear2: Linear
    public let norm1: LayerNorm, norm2: LayerNorm
    let dropout: Dropout, dropout1: Dropout, dropout2: Dropout
    let activation: Activation
    public let normFirst: Bool
    public var isTraining = true

    public init(dModel: Int, nhead: Int, dimFeedforward: Int = LayerDefaults.transformerEncoderLayer.dimFeedforward,
                dropout: Float = LayerDefaults.transformerEncoderLayer.dropout,
                activation: String = LayerDefaults.transformerEncoderLayer.activation.name,
                layerNormEps: Float = LayerDefaults.transformerEncoderLayer.layerNormEps,
                batchFirst: Bool = LayerDefaults.transformerEncoderLayer.batchFirst,
                normFirst: Bool = LayerDefaults.transformerEncoderLayer.normFirst,
                bias: Bool = LayerDefaults.transformerEncoderLayer.bias) throws {
        guard let kind = ActivationKind.names.first(where: { $0.0 == activation })?.1, kind == .relu || kind == .gelu else {
            throw SwiftTrainError.invalid("TransformerEncoderLayer: activation must be 'relu' or 'gelu', got '\(activation)'")
        }
        self.activation = try kind.module()
        selfAttention = try MultiheadAttention(embedDim: dModel, numHeads: nhead, dropout: dropout, bias: bias, batchFirst: batchFirst)
        linear1 = try Linear(dModel, dimFeedforward, bias: bias)
        self.dropout = try Dropout(p: dropout)
        linear2 = try Linear(dimFeedforward, dModel, bias: bias)
        norm1 = try LayerNorm([dModel], eps: layerNormEps, bias: bias)
        norm2 = try LayerNorm([dModel], eps: layerNormEps, bias: bias)
        dropout1 = try Dropout(p: dropout)
        dropout2 = try Dropout(p: dropout)
        self.normFirst = normFirst
    }

    public func forward(_ input: Tensor) throws -> Tensor { try forward(input, mask: nil, isCausal: false) }

    /// `mask` as in MultiheadAttention (bool true = may not attend, or float added).
    public func forward(_ input: Tensor, mask: Tensor?, isCausal: Bool = false) throws -> Tensor {
        func attend(_ x: Tensor) throws -> Tensor {
            try dropout1.forward(try selfAttention.attention(query: x, key: x, value: x, mask: mask, isCausal: isCausal).output)
        }
        func feedForward(_ x: Tensor) throws -> Tensor {
            try dropout2.forward(try linear2.forward(try dropout.forward(try activation.forward(try linear1.forward(x)))))
        }
        if normFirst {
            let x = try input + (try attend(try norm1.forward(input)))
            return try x + (try feedForward(try norm2.forward(x)))
        }
        let x = try norm1.forward(try input + (try attend(input)))
        return try norm2.forward(try x + (try feedForward(x)))
    }

    public var ownParameters: [(String, Tensor)] { [] }
    public var children: [(String, Module)] {
        [("self_attn", selfAttention), ("linear1", linear1), ("dropout", dropout), ("linear2", linear2),
         ("norm1", norm1), ("norm2", norm2), ("dropout1", dropout1), ("dropout2", dropout2)]
    }
    public var description: String { "TransformerEncoderLayer(d_model=\(selfAttention.embedDim), nhead=\(selfAttention.numHeads))" }
}
