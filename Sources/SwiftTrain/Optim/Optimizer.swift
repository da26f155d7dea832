import Glibc

/// A parameter with the weight decay an optimizer applies to it (HF puts biases in a
/// no-decay group).
public struct OptimizedParameter {
    public let tensor: Tensor
    public let weightDecay: Double

    public init(_ tensor: Tensor, weightDecay: Double) {
        self.tensor = tensor
        self.weightDecay = weightDecay
    }
}

/// Updates parameters from their gradients. `learningRate` may change between steps
/// (a schedule sets it). Parameters without a gradient are skipped, as in PyTorch.
public protocol Optimizer: AnyObject {
    var learningRate: Double { get set }
    func step()
}

extension Optimizer {
    /// Checks a hyper-parameter, naming it in the error.
    static func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
        if !ok { throw SwiftTrainError.invalid(message()) }
    }
}

/// Stochastic gradient descent with optional momentum, PyTorch's update rule
/// (torch.optim.SGD, dampening 0, not Nesterov):
/// g += wd * p;  buf = momentum * buf + g (buf = g on the first step);  p -= lr * buf.
public final class SGD: Optimizer {
    public var learningRate: Double
    public let momentum: Double
    private let parameters: [OptimizedParameter]
    private var buffers: [Storage?]

    public init(_ parameters: [OptimizedParameter], learningRate: Double, momentum: Double = 0) throws {
        try Self.require(learningRate.isFinite && learningRate >= 0, "SGD: learning_rate must be >= 0, got \(learningRate)")
        try Self.require(momentum.isFinite && momentum >= 0, "SGD: momentum must be >= 0, got \(momentum)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        let lr = Float(learningRate), mu = Float(momentum)
        for (i, param) in parameters.enumerated() {
            guard let grad = param.tensor.gradStorage else { continue }
            let p = param.tensor.storage.base, g = grad.base, n = param.tensor.count
            let wd = Float(param.weightDecay)
            if wd != 0 { for j in 0..<n { g[j] += wd * p[j] } }
            if mu == 0 {
                for j in 0..<n { p[j] -= lr * g[j] }
                continue
            }
            if let buffer = buffers[i] {
                let b = buffer.base
                for j in 0..<n {
                    b[j] = mu * b[j] + g[j]
                    p[j] -= lr * b[j]
                }
            } else {
                let buffer = Storage(count: n)
                buffer.base.update(from: g, count: n)
                for j in 0..<n { p[j] -= lr * g[j] }
                buffers[i] = buffer
            }
        }
    }
}

/// AdamW (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101), PyTorch's update rule
/// (torch.optim.AdamW, amsgrad off):
/// p *= 1 - lr * wd;  m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
public final class AdamW: Optimizer {
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    private let parameters: [OptimizedParameter]
    private var moments: [(m: Storage, v: Storage)?]
    private var stepCount = 0

    public init(_ parameters: [OptimizedParameter], learningRate: Double,
                beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) throws {
        try Self.require(learningRate.isFinite && learningRate >= 0, "AdamW: learning_rate must be >= 0, got \(learningRate)")
        try Self.require(beta1 >= 0 && beta1 < 1, "AdamW: adam_beta1 must be in [0, 1), got \(beta1)")
        try Self.require(beta2 >= 0 && beta2 < 1, "AdamW: adam_beta2 must be in [0, 1), got \(beta2)")
        try Self.require(epsilon.isFinite && epsilon >= 0, "AdamW: adam_epsilon must be >= 0, got \(epsilon)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.moments = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let bias1 = 1 - pow(beta1, t), bias2Sqrt = (1 - pow(beta2, t)).squareRoot()
        let stepSize = Float(learningRate / bias1)
        let b2 = Float(beta2), eps = Float(epsilon)
        let oneMinusB1 = Float(1 - beta1), oneMinusB2 = Float(1 - beta2)
        let bias2SqrtF = Float(bias2Sqrt)
        for (i, param) in parameters.enumerated() {
            guard let grad = param.tensor.gradStorage else { continue }
            let n = param.tensor.count
            let state = moments[i] ?? (Storage(zeros: n), Storage(zeros: n))
            moments[i] = state
            let p = param.tensor.storage.base, g = grad.base, m = state.m.base, v = state.v.base
            let decay = Float(1 - learningRate * param.weightDecay)
            for j in 0..<n {
                if decay != 1 { p[j] *= decay }
                m[j] += oneMinusB1 * (g[j] - m[j])
                v[j] = b2 * v[j] + oneMinusB2 * g[j] * g[j]
                let denom = v[j].squareRoot() / bias2SqrtF + eps
                p[j] -= stepSize * (m[j] / denom)
            }
        }
    }
}

/// Rescales all gradients together so that their global L2 norm is at most `maxNorm`
/// (torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
    var sumSquares = 0.0
    for p in parameters {
        guard let g = p.gradStorage?.base else { continue }
        var s: Float = 0
        for j in 0..<p.count { s += g[j] * g[j] }
        sumSquares += Double(s)
    }
    let norm = sumSquares.squareRoot()
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        let c = Float(coefficient)
        for p in parameters {
            guard let g = p.gradStorage?.base else { continue }
            for j in 0..<p.count { g[j] *= c }
        }
    }
    return norm
}
