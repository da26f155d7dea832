/// torch.nn.Conv2d on [N, C, H, W], PyTorch's default initialisation (uniform in
/// +-1/sqrt(fan_in), fan_in = C/groups * kh * kw).
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let options: Conv2dOptions
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int),
                stride: (Int, Int) = Conv2dOptions.pair(LayerDefaults.conv2d.stride),
                padding: (Int, Int) = Conv2dOptions.pair(LayerDefaults.conv2d.padding),
                dilation: (Int, Int) = Conv2dOptions.pair(LayerDefaults.conv2d.dilation),
                groups: Int = LayerDefaults.conv2d.groups, bias: Bool = LayerDefaults.conv2d.bias) throws {
        try Init.positive(inChannels, outChannels, kernelSize.0, kernelSize.1, groups,
                          names: ["in_channels", "out_channels", "kernel height", "kernel width", "groups"], in: "Conv2d")
        let limit = 1 << 20  // beyond any image; keeps the output-size arithmetic in range
        guard [stride.0, stride.1, dilation.0, dilation.1].allSatisfy({ (1...limit).contains($0) }),
              [padding.0, padding.1].allSatisfy({ (0...limit).contains($0) }) else {
            throw SwiftTrainError.invalid("Conv2d: stride and dilation must be in [1, 2^20] and padding in [0, 2^20], got "
                + "stride \(stride), padding \(padding), dilation \(dilation)")
        }
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw SwiftTrainError.invalid("Conv2d: in_channels \(inChannels) and out_channels \(outChannels) must be divisible by groups \(groups)")
        }
        options = Conv2dOptions(stride: stride, padding: padding, dilation: dilation, groups: groups)
        try Tensor.checkShape([outChannels, inChannels / groups, kernelSize.0, kernelSize.1], "Conv2d weight")
        let fanIn = inChannels / groups * kernelSize.0 * kernelSize.1
        let bound = 1 / Float(fanIn).squareRoot()
        weight = try Init.uniform([outChannels, inChannels / groups, kernelSize.0, kernelSize.1], bound: bound)
        self.bias = bias ? try Init.uniform([outChannels], bound: bound) : nil
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = LayerDefaults.conv2d.stride,
                            padding: Int = LayerDefaults.conv2d.padding, dilation: Int = LayerDefaults.conv2d.dilation,
                            groups: Int = LayerDefaults.conv2d.groups, bias: Bool = LayerDefaults.conv2d.bias) throws {
        try self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                      padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias)
    }

    public func forward(_ input: Tensor) throws -> Tensor { try input.conv2d(weight: weight, bias: bias, options: options) }
    public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
    /// torch's repr: stride always; padding, dilation, groups and bias when not the default.
    public var description: String {
        func pair(_ p: (Int, Int)) -> String { "(\(p.0), \(p.1))" }
        var text = "Conv2d(\(weight.shape[1] * options.groups), \(weight.shape[0]), kernel_size=(\(weight.shape[2]), "
            + "\(weight.shape[3])), stride=\(pair(options.stride))"
        if options.padding != (0, 0) { text += ", padding=\(pair(options.padding))" }
        if options.dilation != (1, 1) { text += ", dilation=\(pair(options.dilation))" }
        if options.groups != 1 { text += ", groups=\(options.groups)" }
        if bias == nil { text += ", bias=False" }
        return text + ")"
    }
}

/// torch.nn.MaxPool2d; stride defaults to the kernel size. `ceilMode` rounds the output size
/// up (torch's ceil_mode), as F.max_pool2d does.
public final class MaxPool2d: Module {
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), ceilMode: Bool
    public var isTraining = true
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                padding: (Int, Int) = Conv2dOptions.pair(LayerDefaults.maxPool2d.padding),
                dilation: (Int, Int) = Conv2dOptions.pair(LayerDefaults.maxPool2d.dilation),
                ceilMode: Bool = LayerDefaults.maxPool2d.ceilMode) {
        kernel = kernelSize; self.stride = stride ?? kernelSize; self.padding = padding; self.dilation = dilation
        self.ceilMode = ceilMode
    }
    public convenience init(_ kernelSize: Int, stride: Int? = nil, padding: Int = LayerDefaults.maxPool2d.padding,
                            dilation: Int = LayerDefaults.maxPool2d.dilation, ceilMode: Bool = LayerDefaults.maxPool2d.ceilMode) {
        self.init(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) }, padding: (padding, padding),
                  dilation: (dilation, dilation), ceilMode: ceilMode)
    }
    public func forward(_ input: Tensor) throws -> Tensor {
        try input.maxPool2d(kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
    }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String {
        "MaxPool2d(kernel_size=\(kernel), stride=\(stride), padding=\(padding), dilation=\(dilation), ceil_mode=\(ceilMode ? "True" : "False"))"
    }
}

/// torch.nn.AvgPool2d; stride defaults to the kernel size. `ceilMode`, `countIncludePad` and
/// `divisorOverride` (nil: the window's size) as torch's, as F.avg_pool2d does.
public final class AvgPool2d: Module {
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let ceilMode: Bool, countIncludePad: Bool, divisorOverride: Int?
    public var isTraining = true
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                padding: (Int, Int) = Conv2dOptions.pair(LayerDefaults.avgPool2d.padding),
                ceilMode: Bool = LayerDefaults.avgPool2d.ceilMode,
                countIncludePad: Bool = LayerDefaults.avgPool2d.countIncludePad, divisorOverride: Int? = nil) {
        kernel = kernelSize; self.stride = stride ?? kernelSize; self.padding = padding; self.countIncludePad = countIncludePad
        self.ceilMode = ceilMode; self.divisorOverride = divisorOverride
    }
    public convenience init(_ kernelSize: Int, stride: Int? = nil, padding: Int = LayerDefaults.avgPool2d.padding,
                            ceilMode: Bool = LayerDefaults.avgPool2d.ceilMode,
                            countIncludePad: Bool = LayerDefaults.avgPool2d.countIncludePad, divisorOverride: Int? = nil) {
        self.init(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) }, padding: (padding, padding),
                  ceilMode: ceilMode, countIncludePad: countIncludePad, divisorOverride: divisorOverride)
    }
    public func forward(_ input: Tensor) throws -> Tensor {
        try input.avgPool2d(kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode,
                            countIncludePad: countIncludePad, divisorOverride: divisorOverride)
    }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String { "AvgPool2d(kernel_size=\(kernel), stride=\(stride), padding=\(padding))" }
}
