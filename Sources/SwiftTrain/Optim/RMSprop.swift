import Glibc
import PlatformShims

/// torch.optim.RMSprop (Hinton's lecture 6e; centered as Graves 2013).
public final class RMSprop: Optimizer {
    public let alpha: Double, epsilon: Double, centered: Bool
    override var stateNames: [String] { ["square_avg", "momentum_buffer", "grad_avg"] }
    override func usesSlot(_ slot: Int, _ group: ParameterGroup) -> Bool {
        slot == 0 || (slot == 1 && group.momentum > 0) || (slot == 2 && centered)
    }

    public init(_ groups: [ParameterGroup], alpha: Double = OptimizerDefaults.rmsprop.alpha,
                epsilon: Double = OptimizerDefaults.rmsprop.eps, centered: Bool = OptimizerDefaults.rmsprop.centered) throws {
        try Optimizer.require(alpha >= 0 && alpha <= 1, "RMSprop: alpha must be in [0, 1], got \(alpha)")
        try Optimizer.require(epsilon.isFinite && epsilon >= 0, "RMSprop: eps must be >= 0, got \(epsilon)")
        self.alpha = alpha
        self.epsilon = epsilon
        self.centered = centered
        try super.init(groups, name: "RMSprop")
    }

    override func checkGroup(_ g: ParameterGroup) throws {
        try super.checkGroup(g)
        try Optimizer.require(g.momentum >= 0 && g.momentum.isFinite, "RMSprop: momentum must be >= 0, got \(g.momentum)")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = OptimizerDefaults.rmsprop.lr,
                            alpha: Double = OptimizerDefaults.rmsprop.alpha, eps: Double = OptimizerDefaults.rmsprop.eps,
                            weightDecay: Double = OptimizerDefaults.rmsprop.weightDecay,
                            momentum: Double = OptimizerDefaults.rmsprop.momentum,
                            centered: Bool = OptimizerDefaults.rmsprop.centered) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: momentum)],
                      alpha: alpha, epsilon: eps, centered: centered)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        var k = stx_rmsprop_coefficients()
        k.lr = Float(group.learningRate)
        k.weight_decay = Float(group.weightDecay)
        k.momentum = Float(group.momentum)
        k.alpha = Float(alpha)
        k.w = Float(1 - alpha)
        k.eps = Float(epsilon)
        // one fused pass (PlatformShims/optimizer_kernels.c): g += wd p; sq = sq a + (1-a) g g;
        // centered: avg_g += (1-a)(g - avg_g), avg = sqrt(sq - avg_g^2) + eps, else sqrt(sq) + eps;
        // momentum: buf = buf mu + g / avg, p -= lr buf; else p -= lr (g / avg)
        let buf = k.momentum > 0 ? state.buffers[1]?.base : nil
        stx_rmsprop_update(p, g, state.buffers[0]!.base, buf, state.buffers[2]?.base, n, &k)
    }
}
