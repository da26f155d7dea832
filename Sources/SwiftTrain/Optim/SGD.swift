import Glibc

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
        let lr = Float(group.learningRate), wd = Float(group.weightDecay), mu = Float(group.momentum)
        // d = g + wd p is computed per element: the gradient itself is left as it was (PyTorch).
        guard mu != 0 else {
            for j in 0..<n { p[j] -= lr * (g[j] + wd * p[j]) }
            return
        }
        let b = state.buffers[0]!.base
        let keep = Float(1 - dampening), first = state.fresh[0]
        for j in 0..<n {
            let d = g[j] + wd * p[j]
            b[j] = first ? d : mu * b[j] + keep * d
            p[j] -= lr * (nesterov ? d + mu * b[j] : b[j])
        }
    }
}
