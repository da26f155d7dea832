import Glibc

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
        let lr = Float(group.learningRate), wd = Float(group.weightDecay)
        let r = Float(rho), w = Float(1 - rho), eps = Float(epsilon)
        let sq = state.buffers[0]!.base, acc = state.buffers[1]!.base
        for j in 0..<n {
            let gj = g[j] + wd * p[j]
            sq[j] = sq[j] * r + w * gj * gj
            let std = (sq[j] + eps).squareRoot()
            let delta = (acc[j] + eps).squareRoot() / std * gj
            acc[j] = acc[j] * r + w * delta * delta
            p[j] -= lr * delta
        }
    }
}
