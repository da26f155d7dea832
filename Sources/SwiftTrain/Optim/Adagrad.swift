import Glibc
import PlatformShims

/// torch.optim.Adagrad (Duchi et al. 2011).
public final class Adagrad: Optimizer {
    public let lrDecay: Double, initialAccumulatorValue: Double, epsilon: Double
    override var stateNames: [String] { ["sum"] }

    public init(_ groups: [ParameterGroup], lrDecay: Double = OptimizerDefaults.adagrad.lrDecay,
                initialAccumulatorValue: Double = OptimizerDefaults.adagrad.initialAccumulatorValue,
                epsilon: Double = OptimizerDefaults.adagrad.eps) throws {
        try Optimizer.require(lrDecay >= 0, "Adagrad: lr_decay must be >= 0, got \(lrDecay)")
        try Optimizer.require(initialAccumulatorValue >= 0, "Adagrad: initial_accumulator_value must be >= 0, got \(initialAccumulatorValue)")
        try Optimizer.require(epsilon.isFinite && epsilon >= 0, "Adagrad: eps must be >= 0, got \(epsilon)")
        self.lrDecay = lrDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        try super.init(groups, name: "Adagrad")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = OptimizerDefaults.adagrad.lr,
                            lrDecay: Double = OptimizerDefaults.adagrad.lrDecay,
                            weightDecay: Double = OptimizerDefaults.adagrad.weightDecay,
                            initialAccumulatorValue: Double = OptimizerDefaults.adagrad.initialAccumulatorValue,
                            eps: Double = OptimizerDefaults.adagrad.eps) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay)], lrDecay: lrDecay,
                      initialAccumulatorValue: initialAccumulatorValue, epsilon: eps)
    }

    override func initialize(slot: Int, _ buffer: UnsafeMutablePointer<Float>, _ n: Int, _ grad: UnsafeMutablePointer<Float>) {
        buffer.update(repeating: Float(initialAccumulatorValue), count: n)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        var k = stx_adagrad_coefficients()
        k.clr = Float(group.learningRate / (1 + Double(state.step - 1) * lrDecay))
        k.weight_decay = Float(group.weightDecay)
        k.eps = Float(epsilon)
        // one fused pass (PlatformShims/optimizer_kernels.c):
        // g += wd p; sum += g g; p -= clr (g / (sqrt(sum) + eps))
        stx_adagrad_update(p, g, state.buffers[0]!.base, n, &k)
    }
}
