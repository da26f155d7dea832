import Glibc
import PlatformShims

/// torch.optim.Adam and AdamW (Kingma & Ba, https://arxiv.org/abs/1412.6980; decoupled
/// weight decay: Loshchilov & Hutter, https://arxiv.org/abs/1711.05101). Group momentum is
/// beta1.
public final class Adam: Optimizer {
    public let beta2: Double, epsilon: Double, amsgrad: Bool, decoupledWeightDecay: Bool
    override var stateNames: [String] { amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"] }

    /// The defaults are Adam's (AdamW's are the same but for weight decay, a group setting).
    public init(_ groups: [ParameterGroup], beta2: Double = OptimizerDefaults.adam.beta2, epsilon: Double = OptimizerDefaults.adam.eps,
                amsgrad: Bool = OptimizerDefaults.adam.amsgrad, decoupledWeightDecay: Bool = false) throws {
        let name = decoupledWeightDecay ? "AdamW" : "Adam"
        try Optimizer.require(beta2 >= 0 && beta2 < 1, "\(name): beta2 must be in [0, 1), got \(beta2)")
        try Optimizer.require(epsilon.isFinite && epsilon >= 0, "\(name): eps must be >= 0, got \(epsilon)")
        self.beta2 = beta2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self.decoupledWeightDecay = decoupledWeightDecay
        try super.init(groups, name: name)
    }

    override func checkGroup(_ g: ParameterGroup) throws {
        try super.checkGroup(g)
        try Optimizer.require(g.momentum >= 0 && g.momentum < 1, "\(name): beta1 must be in [0, 1), got \(g.momentum)")
    }

    /// torch.optim.Adam (L2 weight decay added to the gradient).
    public convenience init(_ parameters: [Tensor], lr: Double = OptimizerDefaults.adam.lr,
                            betas: (Double, Double) = (OptimizerDefaults.adam.momentum, OptimizerDefaults.adam.beta2),
                            eps: Double = OptimizerDefaults.adam.eps, weightDecay: Double = OptimizerDefaults.adam.weightDecay,
                            amsgrad: Bool = OptimizerDefaults.adam.amsgrad) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: betas.0)],
                      beta2: betas.1, epsilon: eps, amsgrad: amsgrad)
    }

    /// torch.optim.AdamW (decoupled weight decay, default `OptimizerDefaults.adamw.weightDecay`).
    public static func adamW(_ parameters: [Tensor], lr: Double = OptimizerDefaults.adamw.lr,
                             betas: (Double, Double) = (OptimizerDefaults.adamw.momentum, OptimizerDefaults.adamw.beta2),
                             eps: Double = OptimizerDefaults.adamw.eps, weightDecay: Double = OptimizerDefaults.adamw.weightDecay,
                             amsgrad: Bool = OptimizerDefaults.adamw.amsgrad) throws -> Adam {
        try Adam([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: betas.0)],
                 beta2: betas.1, epsilon: eps, amsgrad: amsgrad, decoupledWeightDecay: true)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        let lr = group.learningRate, beta1 = group.momentum, t = Double(state.step)
        var k = stx_adam_coefficients()
        k.decay = decoupledWeightDecay && group.weightDecay != 0 ? Float(1 - lr * group.weightDecay) : 1
        k.coupled = decoupledWeightDecay ? 0 : Float(group.weightDecay)  // L2 added to the gradient
        k.w1 = Float(1 - beta1)
        k.b2 = Float(beta2)
        k.w2 = Float(1 - beta2)
        k.step_size = Float(lr / (1 - Glibc.pow(beta1, t)))
        k.bias2_sqrt = Float((1 - Glibc.pow(beta2, t)).squareRoot())
        k.eps = Float(epsilon)
        // one fused pass (PlatformShims/optimizer_kernels.c), in the order of torch's formulas:
        // m += (1-b1)(g-m); v = v b2 + (1-b2) g g; p -= step_size m / (sqrt(v) / sqrt(1-b2^t) + eps)
        stx_adam_update(p, g, state.buffers[0]!.base, state.buffers[1]!.base,
                        amsgrad ? state.buffers[2]!.base : nil, n, &k)
    }
}
