import PublicHeader
import SwiftTrain

// Neural-network functions and losses on tensor handles.

@c @implementation
public func st_linear(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?, _ weight: OpaquePointer?,
                      _ bias: OpaquePointer?) -> st_status {
    let fn = "st_linear"
    return outputTensor(out, fn) {
        try tensor(x, fn, "x").linear(weight: try tensor(weight, fn, "weight"), bias: try optionalTensor(bias, fn, "bias"))
    }
}

@c @implementation
public func st_layer_norm(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?,
                          _ normalizedShape: UnsafePointer<Int64>?, _ ndim: Int, _ weight: OpaquePointer?,
                          _ bias: OpaquePointer?, _ eps: Float) -> st_status {
    let fn = "st_layer_norm"
    return outputTensor(out, fn) {
        try tensor(x, fn, "x").layerNorm(normalizedShape: try shapeArgument(normalizedShape, ndim, fn, "normalized_shape"),
                                         weight: try optionalTensor(weight, fn, "weight"),
                                         bias: try optionalTensor(bias, fn, "bias"), eps: eps)
    }
}

@c @implementation
public func st_batch_norm(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?, _ runningMean: OpaquePointer?,
                          _ runningVar: OpaquePointer?, _ weight: OpaquePointer?, _ bias: OpaquePointer?,
                          _ training: Bool, _ momentum: Float, _ eps: Float) -> st_status {
    let fn = "st_batch_norm"
    return outputTensor(out, fn) {
        try tensor(x, fn, "x").batchNorm(runningMean: try optionalTensor(runningMean, fn, "running_mean"),
                                         runningVar: try optionalTensor(runningVar, fn, "running_var"),
                                         weight: try optionalTensor(weight, fn, "weight"),
                                         bias: try optionalTensor(bias, fn, "bias"),
                                         training: training, momentum: momentum, eps: eps)
    }
}

@c @implementation
public func st_embedding(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ indices: OpaquePointer?, _ weight: OpaquePointer?,
                         _ paddingIndex: Int64) -> st_status {
    let fn = "st_embedding"
    return outputTensor(out, fn) {
        try Tensor.embedding(try tensor(indices, fn, "indices"), weight: try tensor(weight, fn, "weight"),
                             paddingIndex: optionalIndex(paddingIndex))
    }
}

@c @implementation
public func st_dropout(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?, _ p: Float, _ training: Bool) -> st_status {
    unaryOp(out, x, "st_dropout") { input in
        try DefaultGenerator.withGenerator { try input.dropout(p: p, training: training, generator: &$0) }
    }
}

@c @implementation
public func st_conv2d_options_init_sized(_ options: UnsafeMutablePointer<st_conv2d_options>?, _ structSize: Int) {
    initSized(options, structSize, defaults: conv2dDefaults, firstSize: FirstVersion.conv2d)
}

/// The core's defaults (`LayerDefaults.conv2d`) as the C struct.
let conv2dDefaults: st_conv2d_options = {
    let d = LayerDefaults.conv2d
    return st_conv2d_options(struct_size: librarySize(st_conv2d_options.self), stride: pair(d.stride),
                             padding: pair(d.padding), dilation: pair(d.dilation), groups: Int64(d.groups))
}()

/// torch's int for both dimensions of a C pair.
private func pair(_ v: Int) -> (Int64, Int64) { (Int64(v), Int64(v)) }

/// Core options from C options (NULL: defaults), checked.
func convOptions(_ options: UnsafePointer<st_conv2d_options>?, _ fn: String) throws -> Conv2dOptions {
    guard let options else { return Conv2dOptions() }
    let o = try readSized(options, defaults: conv2dDefaults, firstSize: FirstVersion.conv2d, fn,
                          "options", initName: "st_conv2d_options_init")
    for (name, v) in [("stride", o.stride), ("dilation", o.dilation)] where v.0 < 1 || v.1 < 1 || v.0 > 1 << 20 || v.1 > 1 << 20 {
        throw SwiftTrainError(.invalidArgument, "\(fn): \(name) must be positive, got (\(v.0), \(v.1))")
    }
    guard o.padding.0 >= 0, o.padding.1 >= 0, o.padding.0 < 1 << 20, o.padding.1 < 1 << 20 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): padding must be >= 0, got (\(o.padding.0), \(o.padding.1))")
    }
    guard o.groups >= 1, o.groups < 1 << 20 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): groups must be positive, got \(o.groups)")
    }
    return Conv2dOptions(stride: (Int(o.stride.0), Int(o.stride.1)), padding: (Int(o.padding.0), Int(o.padding.1)),
                         dilation: (Int(o.dilation.0), Int(o.dilation.1)), groups: Int(o.groups))
}

@c @implementation
public func st_conv2d(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?, _ weight: OpaquePointer?,
                      _ bias: OpaquePointer?, _ options: UnsafePointer<st_conv2d_options>?) -> st_status {
    let fn = "st_conv2d"
    return outputTensor(out, fn) {
        try tensor(x, fn, "x").conv2d(weight: try tensor(weight, fn, "weight"), bias: try optionalTensor(bias, fn, "bias"),
                                      options: try convOptions(options, fn))
    }
}

@c @implementation
public func st_pool2d_options_init_sized(_ options: UnsafeMutablePointer<st_pool2d_options>?, _ structSize: Int,
                                         _ kernelH: Int64, _ kernelW: Int64) {
    initSized(options, structSize, defaults: pool2dDefaults(kernelH, kernelW), firstSize: FirstVersion.pool2d)
}

/// The core's defaults (`LayerDefaults.maxPool2d` and `.avgPool2d`, which agree on the
/// fields they share) as the C struct; stride 0 and divisor_override 0 stand for "none".
func pool2dDefaults(_ kernelH: Int64, _ kernelW: Int64) -> st_pool2d_options {
    let max = LayerDefaults.maxPool2d, avg = LayerDefaults.avgPool2d
    return st_pool2d_options(struct_size: librarySize(st_pool2d_options.self), kernel: (kernelH, kernelW), stride: (0, 0),
                             padding: pair(max.padding), dilation: pair(max.dilation), ceil_mode: max.ceilMode,
                             count_include_pad: avg.countIncludePad, divisor_override: 0)
}

/// Pooling geometry from C options, checked.
struct PoolArguments {
    let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    let ceilMode: Bool, countIncludePad: Bool, divisorOverride: Int?

    init(_ options: UnsafePointer<st_pool2d_options>?, _ fn: String) throws {
        let o = try readSized(try required(options, fn, "options"), defaults: pool2dDefaults(0, 0),
                              firstSize: FirstVersion.pool2d, fn, "options",
                              initName: "st_pool2d_options_init")
        let limit: Int64 = 1 << 20
        guard o.kernel.0 > 0, o.kernel.1 > 0, o.kernel.0 < limit, o.kernel.1 < limit else {
            throw SwiftTrainError(.invalidArgument, "\(fn): kernel must be positive, got (\(o.kernel.0), \(o.kernel.1)); fill the options with st_pool2d_options_init")
        }
        guard o.stride.0 >= 0, o.stride.1 >= 0, o.stride.0 < limit, o.stride.1 < limit,
              o.padding.0 >= 0, o.padding.1 >= 0, o.padding.0 < limit, o.padding.1 < limit,
              o.dilation.0 > 0, o.dilation.1 > 0, o.dilation.0 < limit, o.dilation.1 < limit,
              o.divisor_override >= 0, o.divisor_override < limit else {
            throw SwiftTrainError(.invalidArgument, "\(fn): stride and padding must be >= 0, dilation positive, divisor_override >= 0")
        }
        kernel = (Int(o.kernel.0), Int(o.kernel.1))
        stride = o.stride.0 == 0 && o.stride.1 == 0 ? kernel : (Int(o.stride.0), Int(o.stride.1))
        padding = (Int(o.padding.0), Int(o.padding.1))
        dilation = (Int(o.dilation.0), Int(o.dilation.1))
        ceilMode = o.ceil_mode
        countIncludePad = o.count_include_pad
        divisorOverride = o.divisor_override == 0 ? nil : Int(o.divisor_override)
    }
}

@c @implementation
public func st_max_pool2d(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?,
                          _ options: UnsafePointer<st_pool2d_options>?) -> st_status {
    unaryOp(out, x, "st_max_pool2d") {
        let p = try PoolArguments(options, "st_max_pool2d")
        return try $0.maxPool2d(kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode)
    }
}

@c @implementation
public func st_avg_pool2d(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ x: OpaquePointer?,
                          _ options: UnsafePointer<st_pool2d_options>?) -> st_status {
    unaryOp(out, x, "st_avg_pool2d") {
        let p = try PoolArguments(options, "st_avg_pool2d")
        return try $0.avgPool2d(kernel: p.kernel, stride: p.stride, padding: p.padding, ceilMode: p.ceilMode,
                                countIncludePad: p.countIncludePad, divisorOverride: p.divisorOverride)
    }
}

@c @implementation
public func st_scaled_dot_product_attention(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ query: OpaquePointer?,
                                            _ key: OpaquePointer?, _ value: OpaquePointer?, _ mask: OpaquePointer?,
                                            _ isCausal: Bool, _ scale: Float) -> st_status {
    let fn = "st_scaled_dot_product_attention"
    return outputTensor(out, fn) {
        try Tensor.scaledDotProductAttention(query: try tensor(query, fn, "query"), key: try tensor(key, fn, "key"),
                                             value: try tensor(value, fn, "value"), mask: try optionalTensor(mask, fn, "mask"),
                                             isCausal: isCausal, scale: scale > 0 ? scale : nil)
    }
}

// MARK: - Losses

private func loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                  _ fn: String, _ body: (Tensor, Tensor) throws -> Tensor) -> st_status {
    outputTensor(out, fn) { try body(try tensor(input, fn, "input"), try tensor(target, fn, "target")) }
}

@c @implementation
public func st_mse_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                        _ reduction: st_reduction) -> st_status {
    loss(out, input, target, "st_mse_loss") { try mseLoss($0, $1, reduction: try reductionArgument(reduction, "st_mse_loss")) }
}

@c @implementation
public func st_l1_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                       _ reduction: st_reduction) -> st_status {
    loss(out, input, target, "st_l1_loss") { try l1Loss($0, $1, reduction: try reductionArgument(reduction, "st_l1_loss")) }
}

@c @implementation
public func st_smooth_l1_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                              _ beta: Float, _ reduction: st_reduction) -> st_status {
    loss(out, input, target, "st_smooth_l1_loss") {
        try smoothL1Loss($0, $1, beta: beta, reduction: try reductionArgument(reduction, "st_smooth_l1_loss"))
    }
}

@c @implementation
public func st_huber_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                          _ delta: Float, _ reduction: st_reduction) -> st_status {
    loss(out, input, target, "st_huber_loss") {
        try huberLoss($0, $1, delta: delta, reduction: try reductionArgument(reduction, "st_huber_loss"))
    }
}

@c @implementation
public func st_cross_entropy(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                             _ weight: OpaquePointer?, _ ignoreIndex: Int64, _ reduction: st_reduction,
                             _ labelSmoothing: Float) -> st_status {
    let fn = "st_cross_entropy"
    return loss(out, input, target, fn) {
        try crossEntropy($0, target: $1, weight: try optionalTensor(weight, fn, "weight"),
                         ignoreIndex: Int(truncatingIfNeeded: ignoreIndex), reduction: try reductionArgument(reduction, fn),
                         labelSmoothing: labelSmoothing)
    }
}

@c @implementation
public func st_nll_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                        _ weight: OpaquePointer?, _ ignoreIndex: Int64, _ reduction: st_reduction) -> st_status {
    let fn = "st_nll_loss"
    return loss(out, input, target, fn) {
        try nllLoss($0, target: $1, weight: try optionalTensor(weight, fn, "weight"),
                    ignoreIndex: Int(truncatingIfNeeded: ignoreIndex), reduction: try reductionArgument(reduction, fn))
    }
}

@c @implementation
public func st_binary_cross_entropy_with_logits(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?,
                                                _ target: OpaquePointer?, _ weight: OpaquePointer?,
                                                _ posWeight: OpaquePointer?, _ reduction: st_reduction) -> st_status {
    let fn = "st_binary_cross_entropy_with_logits"
    return loss(out, input, target, fn) {
        try binaryCrossEntropyWithLogits($0, $1, weight: try optionalTensor(weight, fn, "weight"),
                                         posWeight: try optionalTensor(posWeight, fn, "pos_weight"),
                                         reduction: try reductionArgument(reduction, fn))
    }
}

@c @implementation
public func st_kl_div(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ input: OpaquePointer?, _ target: OpaquePointer?,
                      _ reduction: st_reduction, _ logTarget: Bool) -> st_status {
    loss(out, input, target, "st_kl_div") {
        try klDiv($0, $1, reduction: try reductionArgument(reduction, "st_kl_div"), logTarget: logTarget)
    }
}
