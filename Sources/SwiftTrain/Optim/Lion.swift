import Glibc
import PlatformShims

/// Lion (Chen et al. 2023, https://arxiv.org/abs/2302.06675): p *= 1 - lr wd;
/// p -= lr sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g. Group momentum is beta1.
public final class Lion: Optimizer {
    public let beta2: Double
    override var stateNames: [String] { ["exp_avg"] }
    override var savesStep: Bool { false }

    public init(_ groups: [ParameterGroup], beta2: Double = OptimizerDefaults.lion.beta2) throws {
        try Optimizer.require(beta2 >= 0 && beta2 < 1, "Lion: beta2 must be in [0, 1), got \(beta2)")
        self.beta2 = beta2
        try super.init(groups, name: "Lion")
    }

    override func checkGroup(_ g: ParameterGroup) throws {
        try super.checkGroup(g)
        try Optimizer.require(g.momentum >= 0 && g.momentum < 1, "Lion: beta1 must be in [0, 1), got \(g.momentum)")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = OptimizerDefaults.lion.lr,
                            betas: (Double, Double) = (OptimizerDefaults.lion.momentum, OptimizerDefaults.lion.beta2),
                            weightDecay: Double = OptimizerDefaults.lion.weightDecay) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: betas.0)], beta2: betas.1)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        var k = stx_lion_coefficients()
        k.lr = Float(group.learningRate)
        k.decay = Float(1 - group.learningRate * group.weightDecay)
        k.b1 = Float(group.momentum)
        k.w1 = 1 - k.b1  // in float, as the loop this replaced did
        k.b2 = Float(beta2)
        k.w2 = 1 - k.b2
        // one fused pass (PlatformShims/optimizer_kernels.c):
        // p *= decay; p -= lr sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g
        stx_lion_update(p, g, state.buffers[0]!.base, n, &k)
    }
}
