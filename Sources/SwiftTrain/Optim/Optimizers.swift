import Glibc

// The optimizers, sorted by increasing complexity, each with PyTorch's update rule
// (single-tensor path) and defaults.

/// torch.optim.SGD: d = g + wd p; buf = momentum buf + (1 - dampening) d (buf = d on the
/// first step); d = nesterov ? d + momentum buf : buf; p -= lr d.
public final class SGD: Optimizer {
    public let dampening: Double, nesterov: Bool
    override var stateNames: [String] { ["momentum_buffer"] }
    private var usesMomentum: Bool { paramGroups.contains { $0.momentum != 0 } }

    public init(_ groups: [ParameterGroup], dampening: Double = 0, nesterov: Bool = false) throws {
        self.dampening = dampening
        self.nesterov = nesterov
        try super.init(groups, name: "SGD")
    }

    override func checkGroup(_ g: ParameterGroup) throws {
        try super.checkGroup(g)
        try Self.require(g.momentum >= 0 && g.momentum.isFinite, "SGD: momentum must be >= 0, got \(g.momentum)")
        try Self.require(!nesterov || (g.momentum > 0 && dampening == 0), "SGD: nesterov needs momentum > 0 and dampening 0")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false) throws {
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

/// torch.optim.Adam and AdamW (Kingma & Ba, https://arxiv.org/abs/1412.6980; decoupled
/// weight decay: Loshchilov & Hutter, https://arxiv.org/abs/1711.05101). Group momentum is
/// beta1.
public final class Adam: Optimizer {
    public let beta2: Double, epsilon: Double, amsgrad: Bool, decoupledWeightDecay: Bool
    override var stateNames: [String] { amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"] }

    public init(_ groups: [ParameterGroup], beta2: Double = 0.999, epsilon: Double = 1e-8, amsgrad: Bool = false,
                decoupledWeightDecay: Bool = false) throws {
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
    public convenience init(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: betas.0)],
                      beta2: betas.1, epsilon: eps, amsgrad: amsgrad)
    }

    /// torch.optim.AdamW (decoupled weight decay, default 0.01).
    public static func adamW(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                             eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false) throws -> Adam {
        try Adam([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: betas.0)],
                 beta2: betas.1, epsilon: eps, amsgrad: amsgrad, decoupledWeightDecay: true)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        let lr = group.learningRate, beta1 = group.momentum, t = Double(state.step)
        let coupled: Float = decoupledWeightDecay ? 0 : Float(group.weightDecay)  // L2 added to the gradient
        if decoupledWeightDecay && group.weightDecay != 0 {
            let decay = Float(1 - lr * group.weightDecay)
            for j in 0..<n { p[j] *= decay }
        }
        let m = state.buffers[0]!.base, v = state.buffers[1]!.base
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2)
        let stepSize = Float(lr / (1 - Glibc.pow(beta1, t)))
        let bias2Sqrt = Float((1 - Glibc.pow(beta2, t)).squareRoot()), eps = Float(epsilon)
        for j in 0..<n {
            let gj = g[j] + coupled * p[j]
            m[j] += w1 * (gj - m[j])
            v[j] = v[j] * b2 + w2 * gj * gj
        }
        if amsgrad {
            let vmax = state.buffers[2]!.base
            for j in 0..<n {
                vmax[j] = Swift.max(vmax[j], v[j])
                p[j] -= stepSize * (m[j] / (vmax[j].squareRoot() / bias2Sqrt + eps))
            }
        } else {
            for j in 0..<n { p[j] -= stepSize * (m[j] / (v[j].squareRoot() / bias2Sqrt + eps)) }
        }
    }
}

/// torch.optim.RMSprop (Hinton's lecture 6e; centered as Graves 2013).
public final class RMSprop: Optimizer {
    public let alpha: Double, epsilon: Double, centered: Bool
    override var stateNames: [String] { ["square_avg", "momentum_buffer", "grad_avg"] }
    override func usesSlot(_ slot: Int, _ group: ParameterGroup) -> Bool {
        slot == 0 || (slot == 1 && group.momentum > 0) || (slot == 2 && centered)
    }

    public init(_ groups: [ParameterGroup], alpha: Double = 0.99, epsilon: Double = 1e-8, centered: Bool = false) throws {
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

    public convenience init(_ parameters: [Tensor], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                            weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) throws {
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

/// torch.optim.Adagrad (Duchi et al. 2011).
public final class Adagrad: Optimizer {
    public let lrDecay: Double, initialAccumulatorValue: Double, epsilon: Double
    override var stateNames: [String] { ["sum"] }

    public init(_ groups: [ParameterGroup], lrDecay: Double = 0, initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10) throws {
        try Optimizer.require(lrDecay >= 0, "Adagrad: lr_decay must be >= 0, got \(lrDecay)")
        try Optimizer.require(initialAccumulatorValue >= 0, "Adagrad: initial_accumulator_value must be >= 0, got \(initialAccumulatorValue)")
        try Optimizer.require(epsilon.isFinite && epsilon >= 0, "Adagrad: eps must be >= 0, got \(epsilon)")
        self.lrDecay = lrDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        try super.init(groups, name: "Adagrad")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                            initialAccumulatorValue: Double = 0, eps: Double = 1e-10) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay)], lrDecay: lrDecay,
                      initialAccumulatorValue: initialAccumulatorValue, epsilon: eps)
    }

    override func initialize(slot: Int, _ buffer: UnsafeMutablePointer<Float>, _ n: Int, _ grad: UnsafeMutablePointer<Float>) {
        buffer.update(repeating: Float(initialAccumulatorValue), count: n)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        let wd = Float(group.weightDecay), eps = Float(epsilon)
        let clr = Float(group.learningRate / (1 + Double(state.step - 1) * lrDecay))
        let sum = state.buffers[0]!.base
        for j in 0..<n {
            let gj = g[j] + wd * p[j]
            sum[j] += gj * gj
            p[j] -= clr * (gj / (sum[j].squareRoot() + eps))
        }
    }
}

/// torch.optim.Adadelta (Zeiler 2012).
public final class Adadelta: Optimizer {
    public let rho: Double, epsilon: Double
    override var stateNames: [String] { ["square_avg", "acc_delta"] }

    public init(_ groups: [ParameterGroup], rho: Double = 0.9, epsilon: Double = 1e-6) throws {
        try Optimizer.require(rho >= 0 && rho <= 1, "Adadelta: rho must be in [0, 1], got \(rho)")
        try Optimizer.require(epsilon.isFinite && epsilon >= 0, "Adadelta: eps must be >= 0, got \(epsilon)")
        self.rho = rho
        self.epsilon = epsilon
        try super.init(groups, name: "Adadelta")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = 1, rho: Double = 0.9, eps: Double = 1e-6,
                            weightDecay: Double = 0) throws {
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

/// Lion (Chen et al. 2023, https://arxiv.org/abs/2302.06675): p *= 1 - lr wd;
/// p -= lr sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g. Group momentum is beta1.
public final class Lion: Optimizer {
    public let beta2: Double
    override var stateNames: [String] { ["exp_avg"] }
    override var savesStep: Bool { false }

    public init(_ groups: [ParameterGroup], beta2: Double = 0.99) throws {
        try Optimizer.require(beta2 >= 0 && beta2 < 1, "Lion: beta2 must be in [0, 1), got \(beta2)")
        self.beta2 = beta2
        try super.init(groups, name: "Lion")
    }

    override func checkGroup(_ g: ParameterGroup) throws {
        try super.checkGroup(g)
        try Optimizer.require(g.momentum >= 0 && g.momentum < 1, "Lion: beta1 must be in [0, 1), got \(g.momentum)")
    }

    public convenience init(_ parameters: [Tensor], lr: Double = 1e-4, betas: (Double, Double) = (0.9, 0.99),
                            weightDecay: Double = 0) throws {
        try self.init([ParameterGroup(parameters, learningRate: lr, weightDecay: weightDecay, momentum: betas.0)], beta2: betas.1)
    }

    override func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                         _ group: ParameterGroup) {
        let lr = Float(group.learningRate), b1 = Float(group.momentum), b2 = Float(beta2)
        let decay = Float(1 - group.learningRate * group.weightDecay)
        let m = state.buffers[0]!.base
        for j in 0..<n {
            if decay != 1 { p[j] *= decay }
            let c = b1 * m[j] + (1 - b1) * g[j]
            p[j] -= lr * (c > 0 ? 1 : (c < 0 ? -1 : 0))
            m[j] = b2 * m[j] + (1 - b2) * g[j]
        }
    }
}
