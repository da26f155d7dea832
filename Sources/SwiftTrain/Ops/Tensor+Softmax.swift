import Glibc

/// softmax and log_softmax along a dimension, computed stably (max subtracted first).
extension Tensor {
    public func softmax(dim: Int) throws -> Tensor { try softmax(dim: dim, log: false) }
    public func logSoftmax(dim: Int) throws -> Tensor { try softmax(dim: dim, log: true) }

    private func softmax(dim: Int, log: Bool) throws -> Tensor {
        try requireFloat(log ? "log_softmax" : "softmax")
        let d = try normalizedDim(dim, log ? "log_softmax" : "softmax")
        let (outer, n, inner) = split(at: d)
        let out = Tensor(uninitialized: shape)
        SoftmaxKernel.forward(data, out.data, outer: outer, n: n, inner: inner, log: log)
        record(out, self) { SoftmaxNode(input: self, dim: d, log: log) }
        return out
    }
}

enum SoftmaxKernel {
    /// Softmax (or log-softmax) of every run of `n` elements `inner` apart.
    static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int, log: Bool) {
        guard n > 0 else { return }
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for k in 0..<n { m = Swift.max(m, x[base + k * inner]) }
                if m == -.infinity { m = 0 }
                var sum: Float = 0
                for k in 0..<n { sum += expf(x[base + k * inner] - m) }
                if log {  // (x - m) - log(sum): adding m back first would lose precision
                    let logSum = logf(sum)
                    for k in 0..<n { y[base + k * inner] = (x[base + k * inner] - m) - logSum }
                } else {
                    let inv = 1 / sum
                    for k in 0..<n { y[base + k * inner] = expf(x[base + k * inner] - m) * inv }
                }
            }
        }
    }
}

final class SoftmaxNode: GradNode {
    let input: Tensor, dim: Int, log: Bool
    init(input: Tensor, dim: Int, log: Bool) { self.input = input; self.dim = dim; self.log = log }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (outer, n, inner) = input.split(at: dim)
        let y = output.data, log = self.log
        input.accumulateGrad { dx, beta in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * n * inner + i
                    var s: Float = 0
                    if log {
                        for k in 0..<n { s += g[base + k * inner] }  // dx = g - softmax * sum(g)
                        for k in 0..<n {
                            let j = base + k * inner, v = g[j] - expf(y[j]) * s
                            dx[j] = beta == 0 ? v : dx[j] + v
                        }
                    } else {
                        for k in 0..<n { s += g[base + k * inner] * y[base + k * inner] }  // dx = y (g - sum(g y))
                        for k in 0..<n {
                            let j = base + k * inner, v = y[j] * (g[j] - s)
                            dx[j] = beta == 0 ? v : dx[j] + v
                        }
                    }
                }
            }
        }
    }
}
