import Glibc

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
        let lr = Float(group.learningRate), wd = Float(group.weightDecay), mu = Float(group.momentum)
        let a = Float(alpha), w = Float(1 - alpha), eps = Float(epsilon)
        let sq = state.buffers[0]!.base, buf = state.buffers[1]?.base, avgG = state.buffers[2]?.base
        for j in 0..<n {
            let gj = g[j] + wd * p[j]
            sq[j] = sq[j] * a + w * gj * gj
            var avg: Float
            if let avgG {
                avgG[j] += w * (gj - avgG[j])
                avg = (sq[j] - avgG[j] * avgG[j]).squareRoot()
            } else {
                avg = sq[j].squareRoot()
            }
            avg += eps
            if let buf, mu > 0 {
                buf[j] = buf[j] * mu + gj / avg
                p[j] -= lr * buf[j]
            } else {
                p[j] -= lr * (gj / avg)
            }
        }
    }
}
