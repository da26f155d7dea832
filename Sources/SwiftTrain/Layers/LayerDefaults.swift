/// The defaults of every layer's constructor, every functional op, the tensor methods with
/// numeric defaults and the learning-rate schedulers torch has: PyTorch's (torch.nn's
/// classes, torch.nn.functional's functions, Tensor.flatten / var / std and
/// torch.optim.lr_scheduler's StepLR and ReduceLROnPlateau). This is the one table: the
/// layers' initialisers, the ops' functions and `ReduceLROnPlateau` take their default
/// arguments from it, the C API's st_layer_defaults (and st_conv2d_options_init,
/// st_pool2d_options_init, st_transformer_options_init) read it, and through
/// st_layer_defaults the Python classes' and functions' signatures do.
///
/// Each entry is named as the layer is in torch, in snake case ("layer_norm" for
/// nn.LayerNorm and F.layer_norm); each field is named as torch's argument, in camel case
/// (`elementwiseAffine` is `elementwise_affine`): `entries` derives the snake-case names
/// from the fields, so a field added here is published everywhere. Where torch's module and
/// functional form share a name they share the defaults; a field only one of them has says
/// so (F.batch_norm's `training`). Arguments whose default is "none" (`stride=None` of the
/// pools, `padding_idx`, `divisor_override`, `scale`) are not in the table, nor are the
/// schedulers' `last_epoch` (torch's -1, "not resumed": the Python face counts the steps; the
/// core's schedules are functions of the step) and arguments without a default.
public enum LayerDefaults {
    /// nn.Linear
    public struct Linear: Sendable, Equatable { public var bias: Bool }
    /// nn.Conv2d and F.conv2d (one value for both dimensions)
    public struct Conv2d: Sendable, Equatable {
        public var stride: Int, padding: Int, dilation: Int, groups: Int
        public var bias: Bool  // nn.Conv2d's
    }
    /// nn.MaxPool2d and F.max_pool2d (the stride defaults to the kernel size)
    public struct MaxPool2d: Sendable, Equatable { public var padding: Int, dilation: Int, ceilMode: Bool }
    /// nn.AvgPool2d and F.avg_pool2d (the stride defaults to the kernel size)
    public struct AvgPool2d: Sendable, Equatable { public var padding: Int, ceilMode: Bool, countIncludePad: Bool }
    /// nn.Flatten, and Tensor.flatten / torch.flatten (`tensorFlatten`, which starts at 0)
    public struct Flatten: Sendable, Equatable { public var startDim: Int, endDim: Int }
    /// Tensor.var / torch.var and Tensor.std / torch.std (torch's `unbiased` is a
    /// correction of 1 when true, 0 when false)
    public struct Moment: Sendable, Equatable { public var correction: Int, keepdim: Bool }
    /// Tensor.sum / mean / max / min / argmax and their torch functions
    public struct Reduce: Sendable, Equatable { public var keepdim: Bool }
    /// nn.LayerNorm and F.layer_norm
    public struct LayerNorm: Sendable, Equatable {
        public var eps: Float
        public var elementwiseAffine: Bool, bias: Bool  // nn.LayerNorm's
    }
    /// nn.BatchNorm1d / BatchNorm2d and F.batch_norm
    public struct BatchNorm: Sendable, Equatable {
        public var eps: Float, momentum: Float
        public var affine: Bool, trackRunningStats: Bool  // the modules'
        public var training: Bool  // F.batch_norm's
    }
    /// nn.Dropout and F.dropout
    public struct Dropout: Sendable, Equatable {
        public var p: Float
        public var training: Bool  // F.dropout's
    }
    /// nn.GELU and F.gelu: torch's `approximate` is "tanh" when true, "none" when false.
    public struct GELU: Sendable, Equatable { public var approximateTanh: Bool }
    /// nn.LeakyReLU and F.leaky_relu
    public struct LeakyReLU: Sendable, Equatable { public var negativeSlope: Float }
    /// nn.Softplus and F.softplus
    public struct Softplus: Sendable, Equatable { public var beta: Float, threshold: Float }
    /// nn.MultiheadAttention
    public struct MultiheadAttention: Sendable, Equatable { public var dropout: Float, bias: Bool, batchFirst: Bool }
    /// nn.TransformerEncoderLayer (`activation`: relu or gelu)
    public struct TransformerEncoderLayer: Sendable, Equatable {
        public var dimFeedforward: Int, dropout: Float, activation: ActivationKind, layerNormEps: Float
        public var batchFirst: Bool, normFirst: Bool, bias: Bool
    }
    /// F.scaled_dot_product_attention
    public struct ScaledDotProductAttention: Sendable, Equatable { public var dropoutP: Float, isCausal: Bool }
    /// The losses of torch.nn.functional with nothing but a reduction to default.
    public struct Loss: Sendable, Equatable { public var reduction: Reduction }
    /// F.smooth_l1_loss
    public struct SmoothL1Loss: Sendable, Equatable { public var reduction: Reduction, beta: Float }
    /// F.huber_loss
    public struct HuberLoss: Sendable, Equatable { public var reduction: Reduction, delta: Float }
    /// F.nll_loss
    public struct NLLLoss: Sendable, Equatable { public var ignoreIndex: Int, reduction: Reduction }
    /// F.cross_entropy
    public struct CrossEntropy: Sendable, Equatable { public var ignoreIndex: Int, reduction: Reduction, labelSmoothing: Float }
    /// F.kl_div
    public struct KLDiv: Sendable, Equatable { public var reduction: Reduction, logTarget: Bool }
    /// lr_scheduler.StepLR (`step_size` has no default; ExponentialLR's `gamma` neither)
    public struct StepLR: Sendable, Equatable { public var gamma: Double }
    /// lr_scheduler.ReduceLROnPlateau, read by the core's `ReduceLROnPlateau`. torch's `mode`
    /// is "max" when `modeMax` is true, "min" when false; its `threshold_mode` is "abs" when
    /// `thresholdModeAbs` is true, "rel" when false (`ReduceLROnPlateau.Mode` and
    /// `.ThresholdMode`). `minLr` is torch's `min_lr` (one value for every group).
    public struct ReduceLROnPlateau: Sendable, Equatable {
        public var modeMax: Bool, factor: Double, patience: Int, threshold: Double
        public var thresholdModeAbs: Bool, cooldown: Int, minLr: Double, eps: Double
    }

    public static let linear = Linear(bias: true)
    public static let conv2d = Conv2d(stride: 1, padding: 0, dilation: 1, groups: 1, bias: true)
    public static let maxPool2d = MaxPool2d(padding: 0, dilation: 1, ceilMode: false)
    public static let avgPool2d = AvgPool2d(padding: 0, ceilMode: false, countIncludePad: true)
    public static let flatten = Flatten(startDim: 1, endDim: -1)
    public static let tensorFlatten = Flatten(startDim: 0, endDim: -1)
    public static let variance = Moment(correction: 1, keepdim: false)
    public static let std = Moment(correction: 1, keepdim: false)
    public static let reduce = Reduce(keepdim: false)
    public static let layerNorm = LayerNorm(eps: 1e-5, elementwiseAffine: true, bias: true)
    public static let batchNorm = BatchNorm(eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, training: false)
    public static let dropout = Dropout(p: 0.5, training: true)
    public static let gelu = GELU(approximateTanh: false)
    public static let leakyRelu = LeakyReLU(negativeSlope: 0.01)
    public static let softplus = Softplus(beta: 1, threshold: 20)
    public static let multiheadAttention = MultiheadAttention(dropout: 0, bias: true, batchFirst: false)
    public static let transformerEncoderLayer = TransformerEncoderLayer(
        dimFeedforward: 2048, dropout: 0.1, activation: .relu, layerNormEps: 1e-5, batchFirst: false, normFirst: false, bias: true)
    public static let scaledDotProductAttention = ScaledDotProductAttention(dropoutP: 0, isCausal: false)
    public static let mseLoss = Loss(reduction: .mean)
    public static let l1Loss = Loss(reduction: .mean)
    public static let smoothL1Loss = SmoothL1Loss(reduction: .mean, beta: 1)
    public static let huberLoss = HuberLoss(reduction: .mean, delta: 1)
    public static let nllLoss = NLLLoss(ignoreIndex: -100, reduction: .mean)
    public static let crossEntropy = CrossEntropy(ignoreIndex: -100, reduction: .mean, labelSmoothing: 0)
    public static let binaryCrossEntropyWithLogits = Loss(reduction: .mean)
    public static let klDiv = KLDiv(reduction: .mean, logTarget: false)
    public static let stepLR = StepLR(gamma: 0.1)
    public static let reduceLROnPlateau = ReduceLROnPlateau(
        modeMax: false, factor: 0.1, patience: 10, threshold: 1e-4, thresholdModeAbs: false, cooldown: 0, minLr: 0, eps: 1e-8)

    /// Every entry by its torch name, in this order (st_layer_defaults' names).
    public static let all: [(name: String, defaults: any Sendable)] = [
        ("linear", linear), ("conv2d", conv2d), ("max_pool2d", maxPool2d), ("avg_pool2d", avgPool2d),
        ("flatten", flatten), ("tensor_flatten", tensorFlatten), ("var", variance), ("std", std),
        ("reduce", reduce),
        ("layer_norm", layerNorm), ("batch_norm", batchNorm), ("dropout", dropout),
        ("gelu", gelu), ("leaky_relu", leakyRelu), ("softplus", softplus), ("multihead_attention", multiheadAttention),
        ("transformer_encoder_layer", transformerEncoderLayer), ("scaled_dot_product_attention", scaledDotProductAttention),
        ("mse_loss", mseLoss), ("l1_loss", l1Loss), ("smooth_l1_loss", smoothL1Loss), ("huber_loss", huberLoss),
        ("nll_loss", nllLoss), ("cross_entropy", crossEntropy),
        ("binary_cross_entropy_with_logits", binaryCrossEntropyWithLogits), ("kl_div", klDiv),
        ("step_lr", stepLR), ("reduce_lr_on_plateau", reduceLROnPlateau),
    ]

    /// The names of `all`.
    public static var names: [String] { all.map(\.name) }

    /// The defaults of entry `layer` as (torch's argument name, value), in declaration order,
    /// or nil for an unknown name. Values as numbers: booleans 0 / 1, enums (`activation`,
    /// `reduction`) their C value, floats the decimal they are written as here (1e-5, not
    /// the binary float's 9.99999974e-06).
    public static func entries(_ layer: String) -> [(name: String, value: Double)]? {
        guard let defaults = all.first(where: { $0.name == layer })?.defaults else { return nil }
        return Mirror(reflecting: defaults).children.map { child in
            (snakeCase(child.label ?? ""), number(child.value))
        }
    }

    private static func number(_ value: Any) -> Double {
        switch value {
        case let v as Bool: v ? 1 : 0
        case let v as Int: Double(v)
        case let v as Float: Double(v.description) ?? Double(v)  // the shortest decimal of the Float
        case let v as Double: v
        case let v as any RawRepresentable<Int32>: Double(v.rawValue)
        default: fatalError("LayerDefaults: a field of type \(type(of: value)) has no number")
        }
    }

    /// "elementwiseAffine" -> "elementwise_affine".
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
