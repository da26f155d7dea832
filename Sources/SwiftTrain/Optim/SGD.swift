import Glibc
import PlatformShims

/// torch.optim.SGD: d = g + wd p; buf = momentum buf + (1 - dampening) d (buf = d on the
/// first step); d = nesterov ? d + momentum buf : buf; p -= lr d.
public final class SGD: Optimizer {
    public let dampening: Double, nesterov: Bool
    override var stateNames: [String] { ["momentum_buffer"] }
    private var usesMomentum: Bool { paramGroups.contains { $0.momentum != 0 } }

    public init(_ groups: [ParameterGroup], dampening: Double = OptimizerDefaults.sgd.dampening,
                nesterov: Bool = OptimizerDefaults.sgd.nesterov) throws {
        self.dampening = dampening
        self.nesterov = nesterov
        try super.init(groups, name: "SGD")
    }

    override func checkGroup(_ g: ParameterGroup) throws {
        try super.checkGroup(g)
        try Self.require(g.momentum >= 0 && g.momentum.isFinite, "SGD: momentum must be >= 0, got \(g.momentum)")
        try Self.require(!nesterov || (g.momentum > 0 && dampening == 0), "SGD: nesterov needs momentum > 0 and dampening 0")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = OptimizerDefaults.sgd.lr,
                            momentum: Double = OptimizerDefaults.sgd.momentum, dampening: Double = OptimizerDefaults.sgd.dampening,
                            weightDecay: Double = OptimizerDefaults.sgd.weightDecay,
                            nesterov: Bool = OptimizerDefaults.sgd.nesterov) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: momentum)],
                      dampening: dampening, nesterov: nesterov)
    }

    override func usesSlot(_ slot: Int, _ group: ParameterGroup) -> Bool { group.momentum != 0 }
    override var savesStep: Bool { false }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        var k = stx_sgd_coefficients()
        k.lr = Float(group.learningRate)
        k.weight_decay = Float(group.weightDecay)
        k.momentum = Float(group.momentum)
        k.keep = Float(1 - dampening)
        k.first = state.fresh[0] ? 1 : 0
        k.nesterov = nesterov ? 1 : 0
        // one fused pass (PlatformShims/optimizer_kernels.c): d = g + wd p per element (the
        // gradient itself is left as it was, as in PyTorch); without momentum p -= lr d
        stx_sgd_update(p, g, k.momentum != 0 ? state.buffers[0]?.base : nil, n, &k)
    }
}
