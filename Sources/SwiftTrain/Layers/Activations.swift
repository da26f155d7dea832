/// Activation functions as modules (torch.nn.ReLU, ...). No parameters.
public class Activation: Module {
    public var isTraining = true
    let name: String
    private let function: (Tensor) throws -> Tensor
    /// The same function on raw buffers, for the planned training step (PlannedStep); nil for
    /// activations that are not element-wise (softmax).
    let pointwise: PointwiseActivation?

    init(_ name: String, pointwise: PointwiseActivation? = nil, _ function: @escaping (Tensor) throws -> Tensor) {
        self.name = name
        self.pointwise = pointwise
        self.function = function
    }

    public func forward(_ input: Tensor) throws -> Tensor { try function(input) }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String { name }
}

public final class ReLU: Activation {
    public init() { super.init("ReLU()", pointwise: PointwiseActivation(ReLUFunction())) { try $0.relu() } }
}
public final class SiLU: Activation {
    public init() { super.init("SiLU()", pointwise: PointwiseActivation(SiLUFunction())) { try $0.silu() } }
}
public final class Tanh: Activation {
    public init() { super.init("Tanh()", pointwise: PointwiseActivation(TanhFunction())) { try $0.tanh() } }
}
public final class Sigmoid: Activation {
    public init() { super.init("Sigmoid()", pointwise: PointwiseActivation(SigmoidFunction())) { try $0.sigmoid() } }
}

public final class LeakyReLU: Activation {
    public init(negativeSlope: Float = LayerDefaults.leakyRelu.negativeSlope) {
        super.init("LeakyReLU(negative_slope=\(negativeSlope))", pointwise: PointwiseActivation(LeakyReLUFunction(slope: negativeSlope))) {
            try $0.leakyRelu(negativeSlope: negativeSlope)
        }
    }
}

public final class GELU: Activation {
    /// approximate: "none" (exact, erf) or "tanh".
    public init(approximate: String = LayerDefaults.gelu.approximateTanh ? "tanh" : "none") throws {
        guard approximate == "none" || approximate == "tanh" else {
            throw SwiftTrainError.invalid("GELU: approximate must be 'none' or 'tanh', got '\(approximate)'")
        }
        let tanh = approximate == "tanh"
        super.init("GELU(approximate='\(approximate)')", pointwise: PointwiseActivation(GELUFunction(tanhApproximation: tanh))) {
            try $0.gelu(approximateTanh: tanh)
        }
    }
}

public final class Softplus: Activation {
    public init(beta: Float = LayerDefaults.softplus.beta, threshold: Float = LayerDefaults.softplus.threshold) {
        super.init("Softplus(beta=\(beta), threshold=\(threshold))",
                   pointwise: PointwiseActivation(SoftplusFunction(beta: beta, threshold: threshold))) {
            try $0.softplus(beta: beta, threshold: threshold)
        }
    }
}

public final class Softmax: Activation {
    public init(dim: Int) { super.init("Softmax(dim=\(dim))") { try $0.softmax(dim: dim) } }
}

public final class LogSoftmax: Activation {
    public init(dim: Int) { super.init("LogSoftmax(dim=\(dim))") { try $0.logSoftmax(dim: dim) } }
}

/// The activations a layer is made from by name (st_activation_create, a transformer's
/// feed-forward activation). Values match the C API's st_activation.
public enum ActivationKind: Int32, Sendable, CaseIterable {
    case relu = 0, gelu = 1, geluTanh = 2, silu = 3, tanh = 4, sigmoid = 5

    /// The names, as torch's functional names ("gelu_tanh" is GELU(approximate="tanh")); the
    /// C API's st_enum_from_name / st_enum_names ("activation") read this table.
    public static let names: [(String, ActivationKind)] = [
        ("relu", .relu), ("gelu", .gelu), ("gelu_tanh", .geluTanh), ("silu", .silu), ("tanh", .tanh), ("sigmoid", .sigmoid),
    ]

    public var name: String { Self.names.first { $0.1 == self }!.0 }

    /// A new module of this activation.
    public func module() throws -> Activation {
        switch self {
        case .relu: ReLU()
        case .gelu: try GELU()
        case .geluTanh: try GELU(approximate: "tanh")
        case .silu: SiLU()
        case .tanh: Tanh()
        case .sigmoid: Sigmoid()
        }
    }
}
