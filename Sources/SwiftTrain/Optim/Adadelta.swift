import Glibc
import PlatformShims

/// torch.optim.Adadelta (Zeiler 2012).
public final class Adadelta: Optimizer {
    public let rho: Double, epsilon: Double
    override var stateNames: [String] { ["square_avg", "acc_delta"] }

    public init(_ groups: [ParameterGroup], rho: Double = OptimizerDefaults.adadelta.rho,
                epsilon: Double = OptimizerDefaults.adadelta.eps) throws {
        try Optimizer.require(rho >= 0 && rho <= 1, "Adadelta: rho must be in [0, 1], got \(rho)")
        try Optimizer.require(epsilon.isFinite && epsilon >= 0, "Adadelta: eps must be >= 0, got \(epsilon)")
        self.rho = rho
        self.epsilon = epsilon
        try super.init(groups, name: "Adadelta")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = OptimizerDefaults.adadelta.lr,
                            rho: Double = OptimizerDefaults.adadelta.rho, eps: Double = OptimizerDefaults.adadelta.eps,
                            weightDecay: Double = OptimizerDefaults.adadelta.weightDecay) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay)], rho: rho, epsilon: eps)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        var k = stx_adadelta_coefficients()
        k.lr = Float(group.learningRate)
        k.weight_decay = Float(group.weightDecay)
        k.rho = Float(rho)
        k.w = Float(1 - rho)
        k.eps = Float(epsilon)
        // one fused pass (PlatformShims/optimizer_kernels.c): g += wd p; sq = sq rho + (1-rho) g g;
        // delta = sqrt(acc + eps) / sqrt(sq + eps) g; acc = acc rho + (1-rho) delta^2; p -= lr delta
        stx_adadelta_update(p, g, state.buffers[0]!.base, state.buffers[1]!.base, n, &k)
    }
}
