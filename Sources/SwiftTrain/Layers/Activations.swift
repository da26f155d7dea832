/// Activation functions as modules (torch.nn.ReLU, ...). No parameters.
public class Activation: Module {
    public var isTraining = true
    let name: String
    private let function: (Tensor) throws -> Tensor

    init(_ name: String, _ function: @escaping (Tensor) throws -> Tensor) {
        self.name = name
        self.function = function
    }

    public func forward(_ input: Tensor) throws -> Tensor { try function(input) }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String { name }
}

public final class ReLU: Activation { public init() { super.init("ReLU()") { try $0.relu() } } }
public final class SiLU: Activation { public init() { super.init("SiLU()") { try $0.silu() } } }
public final class Tanh: Activation { public init() { super.init("Tanh()") { try $0.tanh() } } }
public final class Sigmoid: Activation { public init() { super.init("Sigmoid()") { try $0.sigmoid() } } }

public final class LeakyReLU: Activation {
    public init(negativeSlope: Float = 0.01) {
        super.init("LeakyReLU(negative_slope=\(negativeSlope))") { try $0.leakyRelu(negativeSlope: negativeSlope) }
    }
}

public final class GELU: Activation {
    /// approximate: "none" (exact, erf) or "tanh".
    public init(approximate: String = "none") throws {
        guard approximate == "none" || approximate == "tanh" else {
            throw SwiftTrainError.invalid("GELU: approximate must be 'none' or 'tanh', got '\(approximate)'")
        }
        let tanh = approximate == "tanh"
        super.init("GELU(approximate='\(approximate)')") { try $0.gelu(approximateTanh: tanh) }
    }
}

public final class Softplus: Activation {
    public init(beta: Float = 1, threshold: Float = 20) {
        super.init("Softplus(beta=\(beta), threshold=\(threshold))") { try $0.softplus(beta: beta, threshold: threshold) }
    }
}

public final class Softmax: Activation {
    public init(dim: Int) { super.init("Softmax(dim=\(dim))") { try $0.softmax(dim: dim) } }
}

public final class LogSoftmax: Activation {
    public init(dim: Int) { super.init("LogSoftmax(dim=\(dim))") { try $0.logSoftmax(dim: dim) } }
}
