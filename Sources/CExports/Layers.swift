import PublicHeader
import SwiftTrain

// Constructors of the layers beyond Linear / ReLU / Sequential, and attention with masks.

/// Checks a size argument and converts it.
func positive(_ value: Int64, _ fn: String, _ name: String) throws -> Int {
    guard value > 0, value <= 1 << 31 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): \(name) must be between 1 and 2^31, got \(value)")
    }
    return Int(value)
}

@c @implementation
public func st_conv2d_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ inChannels: Int64, _ outChannels: Int64,
                             _ kernelH: Int64, _ kernelW: Int64, _ options: UnsafePointer<st_conv2d_options>?,
                             _ bias: Bool) -> st_status {
    let fn = "st_conv2d_create"
    return outputModule(out, fn) {
        let o = try convOptions(options, fn)
        return try Conv2d(try positive(inChannels, fn, "in_channels"), try positive(outChannels, fn, "out_channels"),
                          kernelSize: (try positive(kernelH, fn, "kernel_h"), try positive(kernelW, fn, "kernel_w")),
                          stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups, bias: bias)
    }
}

@c @implementation
public func st_max_pool2d_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ options: UnsafePointer<st_pool2d_options>?) -> st_status {
    outputModule(out, "st_max_pool2d_create") {
        let p = try PoolArguments(options, "st_max_pool2d_create")
        return MaxPool2d(kernelSize: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode)
    }
}

@c @implementation
public func st_avg_pool2d_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ options: UnsafePointer<st_pool2d_options>?) -> st_status {
    outputModule(out, "st_avg_pool2d_create") {
        let p = try PoolArguments(options, "st_avg_pool2d_create")
        return AvgPool2d(kernelSize: p.kernel, stride: p.stride, padding: p.padding, ceilMode: p.ceilMode,
                         countIncludePad: p.countIncludePad, divisorOverride: p.divisorOverride)
    }
}

@c @implementation
public func st_flatten_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ startDim: Int64, _ endDim: Int64) -> st_status {
    outputModule(out, "st_flatten_create") {
        guard (-64...64).contains(startDim), (-64...64).contains(endDim) else {
            throw SwiftTrainError(.invalidArgument, "st_flatten_create: start_dim \(startDim) / end_dim \(endDim) out of range")
        }
        return Flatten(startDim: Int(startDim), endDim: Int(endDim))
    }
}

@c @implementation
public func st_embedding_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ numEmbeddings: Int64, _ embeddingDim: Int64,
                                _ paddingIndex: Int64) -> st_status {
    let fn = "st_embedding_create"
    return outputModule(out, fn) {
        try Embedding(try positive(numEmbeddings, fn, "num_embeddings"), try positive(embeddingDim, fn, "embedding_dim"),
                      paddingIndex: optionalIndex(paddingIndex))
    }
}

@c @implementation
public func st_layer_norm_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ normalizedShape: UnsafePointer<Int64>?,
                                 _ ndim: Int, _ eps: Float, _ elementwiseAffine: Bool, _ bias: Bool) -> st_status {
    let fn = "st_layer_norm_create"
    return outputModule(out, fn) {
        try LayerNorm(try shapeArgument(normalizedShape, ndim, fn, "normalized_shape"), eps: eps,
                      elementwiseAffine: elementwiseAffine, bias: bias)
    }
}

@c @implementation
public func st_batch_norm1d_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ numFeatures: Int64, _ eps: Float,
                                   _ momentum: Float, _ affine: Bool, _ trackRunningStats: Bool) -> st_status {
    let fn = "st_batch_norm1d_create"
    return outputModule(out, fn) {
        try BatchNorm.oneD(try positive(numFeatures, fn, "num_features"), eps: eps, momentum: momentum, affine: affine,
                           trackRunningStats: trackRunningStats)
    }
}

@c @implementation
public func st_batch_norm2d_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ numFeatures: Int64, _ eps: Float,
                                   _ momentum: Float, _ affine: Bool, _ trackRunningStats: Bool) -> st_status {
    let fn = "st_batch_norm2d_create"
    return outputModule(out, fn) {
        try BatchNorm.twoD(try positive(numFeatures, fn, "num_features"), eps: eps, momentum: momentum, affine: affine,
                           trackRunningStats: trackRunningStats)
    }
}

@c @implementation
public func st_dropout_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ p: Float) -> st_status {
    outputModule(out, "st_dropout_create") { try Dropout(p: p) }
}

@c @implementation
public func st_activation_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ kind: st_activation) -> st_status {
    outputModule(out, "st_activation_create") {
        guard let activation = ActivationKind(rawValue: Int32(bitPattern: kind.rawValue)) else {
            throw SwiftTrainError(.invalidArgument,
                                  "st_activation_create: unknown activation \(Int32(bitPattern: kind.rawValue)); use an ST_ACTIVATION_* value")
        }
        return try activation.module()
    }
}

@c @implementation
public func st_leaky_relu_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ negativeSlope: Float) -> st_status {
    outputModule(out, "st_leaky_relu_create") { LeakyReLU(negativeSlope: negativeSlope) }
}

@c @implementation
public func st_softplus_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ beta: Float, _ threshold: Float) -> st_status {
    outputModule(out, "st_softplus_create") {
        guard beta != 0, beta.isFinite else { throw SwiftTrainError(.invalidArgument, "st_softplus_create: beta must be finite and non-zero") }
        return Softplus(beta: beta, threshold: threshold)
    }
}

@c @implementation
public func st_softmax_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ dim: Int64, _ log: Bool) -> st_status {
    outputModule(out, "st_softmax_create") {
        guard (-64...64).contains(dim) else { throw SwiftTrainError(.invalidArgument, "st_softmax_create: dim \(dim) is out of range") }
        return log ? LogSoftmax(dim: Int(dim)) : Softmax(dim: Int(dim))
    }
}

@c @implementation
public func st_multihead_attention_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ embedDim: Int64, _ numHeads: Int64,
                                          _ dropout: Float, _ bias: Bool, _ batchFirst: Bool) -> st_status {
    let fn = "st_multihead_attention_create"
    return outputModule(out, fn) {
        try MultiheadAttention(embedDim: try positive(embedDim, fn, "embed_dim"), numHeads: try positive(numHeads, fn, "num_heads"),
                               dropout: dropout, bias: bias, batchFirst: batchFirst)
    }
}

@c @implementation
public func st_transformer_options_init_sized(_ options: UnsafeMutablePointer<st_transformer_options>?, _ structSize: Int,
                                              _ dModel: Int64, _ nhead: Int64) {
    initSized(options, structSize, defaults: transformerDefaults(dModel, nhead),
              firstSize: FirstVersion.transformer)
}

/// The core's defaults (`LayerDefaults.transformerEncoderLayer`) as the C struct.
private func transformerDefaults(_ dModel: Int64, _ nhead: Int64) -> st_transformer_options {
    let d = LayerDefaults.transformerEncoderLayer
    return st_transformer_options(struct_size: librarySize(st_transformer_options.self), d_model: dModel, nhead: nhead,
                                  dim_feedforward: Int64(d.dimFeedforward), dropout: d.dropout,
                                  activation: st_activation(rawValue: UInt32(bitPattern: d.activation.rawValue)),
                                  layer_norm_eps: d.layerNormEps, batch_first: d.batchFirst, norm_first: d.normFirst,
                                  bias: d.bias)
}

@c @implementation
public func st_transformer_encoder_layer_create(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                                _ options: UnsafePointer<st_transformer_options>?) -> st_status {
    let fn = "st_transformer_encoder_layer_create"
    return outputModule(out, fn) {
        let o = try readSized(try required(options, fn, "options"), defaults: transformerDefaults(0, 0),
                              firstSize: FirstVersion.transformer, fn, "options",
                              initName: "st_transformer_options_init")
        guard let kind = ActivationKind(rawValue: Int32(bitPattern: o.activation.rawValue)), kind == .relu || kind == .gelu else {
            throw SwiftTrainError(.invalidArgument, "\(fn): activation must be ST_ACTIVATION_RELU or ST_ACTIVATION_GELU")
        }
        let activation = kind.name
        return try TransformerEncoderLayer(dModel: try positive(o.d_model, fn, "d_model"), nhead: try positive(o.nhead, fn, "nhead"),
                                           dimFeedforward: try positive(o.dim_feedforward, fn, "dim_feedforward"),
                                           dropout: o.dropout, activation: activation, layerNormEps: o.layer_norm_eps,
                                           batchFirst: o.batch_first, normFirst: o.norm_first, bias: o.bias)
    }
}

@c @implementation
public func st_attention_forward(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ outWeights: UnsafeMutablePointer<OpaquePointer?>?,
                                 _ m: OpaquePointer?, _ query: OpaquePointer?, _ key: OpaquePointer?, _ value: OpaquePointer?,
                                 _ mask: OpaquePointer?, _ isCausal: Bool) -> st_status {
    status {
        let fn = "st_attention_forward"
        let result = try required(out, fn, "out")
        result.pointee = nil
        outWeights?.pointee = nil
        let q = try tensor(query, fn, "query"), maskTensor = try optionalTensor(mask, fn, "mask")
        switch try module(m, fn) {
        case let attention as MultiheadAttention:
            let k = try optionalTensor(key, fn, "key") ?? q, v = try optionalTensor(value, fn, "value") ?? k
            let r = try attention.attention(query: q, key: k, value: v, mask: maskTensor, isCausal: isCausal,
                                            needWeights: outWeights != nil)
            result.pointee = Handle.make(r.output)
            outWeights?.pointee = r.weights.map { Handle.make($0) }
        case let layer as TransformerEncoderLayer:
            guard key == nil, value == nil, outWeights == nil else {
                throw SwiftTrainError(.invalidArgument, "\(fn): a TransformerEncoderLayer takes no key, value or weights output")
            }
            result.pointee = Handle.make(try layer.forward(q, mask: maskTensor, isCausal: isCausal))
        default:
            throw SwiftTrainError(.invalidArgument, "\(fn): module is neither a MultiheadAttention nor a TransformerEncoderLayer")
        }
    }
}
