import Glibc

/// Differentiable operations. Each records an `Op` (see Autograd.swift) when gradients are
/// needed; its backward is written next to the forward, in `Op.backward`.
extension Tensor {
    /// `self` [batch, in] times `weight` [out, in] transposed, plus `bias` [out]:
    /// torch.nn.functional.linear. Returns shape [batch, out].
    public func linear(weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard shape.count == 2, weight.shape.count == 2, shape[1] == weight.shape[1] else {
            throw SwiftTrainError.shape(
                "linear: input shape \(shape) does not fit weight shape \(weight.shape) "
                    + "(expected input [batch, \(weight.shape.last ?? 0)])")
        }
        let (batch, inF, outF) = (shape[0], shape[1], weight.shape[0])
        if let bias, bias.shape != [outF] {
            throw SwiftTrainError.shape("linear: bias shape \(bias.shape) does not fit weight shape \(weight.shape)")
        }
        try BLAS.load()
        let out = Tensor(uninitialized: [batch, outF])
        let y = out.storage.base
        if let bias {  // y = bias broadcast over rows, then y += x W^T
            for r in 0..<batch { (y + r * outF).update(from: bias.storage.base, count: outF) }
        }
        BLAS.sgemm(transposeA: false, transposeB: true, m: batch, n: outF, k: inF,
                   a: storage.base, lda: inF, b: weight.storage.base, ldb: inF,
                   beta: bias == nil ? 0 : 1, c: y, ldc: outF)
        if recordsGraph(self, weight, bias) {
            out.requiresGrad = true
            out.op = .linear(input: self, weight: weight, bias: bias)
        }
        return out
    }

    /// Matrix product of `self` [m, k] and `other` [k, n]: shape [m, n].
    public func matmul(_ other: Tensor) throws -> Tensor {
        guard shape.count == 2, other.shape.count == 2, shape[1] == other.shape[0] else {
            throw SwiftTrainError.shape("matmul: shapes \(shape) and \(other.shape) cannot be multiplied")
        }
        try BLAS.load()
        let (m, k, n) = (shape[0], shape[1], other.shape[1])
        let out = Tensor(uninitialized: [m, n])
        BLAS.sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k,
                   a: storage.base, lda: k, b: other.storage.base, ldb: n,
                   beta: 0, c: out.storage.base, ldc: n)
        if recordsGraph(self, other) {
            out.requiresGrad = true
            out.op = .matmul(self, other)
        }
        return out
    }

    /// Element-wise max(x, 0).
    public func relu() -> Tensor {
        let out = Tensor(uninitialized: shape)
        let x = storage.base, y = out.storage.base
        for i in 0..<count { y[i] = max(x[i], 0) }
        if recordsGraph(self) {
            out.requiresGrad = true
            out.op = .relu(self)
        }
        return out
    }
}

/// Softmax cross-entropy of `logits` [batch, classes] against class indices `labels`
/// (one per row), averaged over the batch: torch.nn.functional.cross_entropy.
/// Stable for extreme logits (log-sum-exp). Returns a scalar tensor (shape []).
public func crossEntropy(_ logits: Tensor, labels: [Int]) throws -> Tensor {
    guard logits.shape.count == 2 else {
        throw SwiftTrainError.shape("cross_entropy: logits must be [batch, classes], got \(logits.shape)")
    }
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    guard labels.count == batch else {
        throw SwiftTrainError.shape("cross_entropy: \(batch) rows of logits but \(labels.count) labels")
    }
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
        throw SwiftTrainError.invalid(
            "cross_entropy: label \(labels[bad]) at row \(bad) is outside [0, \(classes))")
    }
    let needsGraph = recordsGraph(logits)
    let probabilities = Storage(count: logits.count)
    let total = labels.withUnsafeBufferPointer {
        Kernels.softmaxCrossEntropy(logits.storage.base, rows: batch, classes: classes,
                                    labels: $0.baseAddress!, probabilities: probabilities.base)
    }
    let out = Tensor(uninitialized: [])
    out.storage.base[0] = Float(total / Double(max(batch, 1)))
    if needsGraph {
        out.requiresGrad = true
        out.op = .crossEntropy(logits: logits, probabilities: probabilities, labels: labels)
    }
    return out
}

/// Mean squared error over all elements: torch.nn.functional.mse_loss. Scalar result.
public func mseLoss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
    guard prediction.shape == target.shape else {
        throw SwiftTrainError.shape("mse_loss: prediction shape \(prediction.shape) != target shape \(target.shape)")
    }
    let total = Kernels.squaredErrorSum(prediction.storage.base, target.storage.base, count: prediction.count)
    let out = Tensor(uninitialized: [])
    out.storage.base[0] = Float(total / Double(max(prediction.count, 1)))
    if recordsGraph(prediction, target) {
        out.requiresGrad = true
        out.op = .mse(prediction: prediction, target: target)
    }
    return out
}

/// Loops shared by the differentiable ops and by evaluation.
enum Kernels {
    /// Writes softmax(logits) row by row into `probabilities` and returns the summed
    /// cross-entropy of the rows.
    static func softmaxCrossEntropy(
        _ logits: UnsafePointer<Float>, rows: Int, classes: Int,
        labels: UnsafePointer<Int>, probabilities: UnsafeMutablePointer<Float>
    ) -> Double {
        var total = 0.0
        for r in 0..<rows {
            let x = logits + r * classes, p = probabilities + r * classes
            var m = -Float.infinity
            for c in 0..<classes { m = max(m, x[c]) }
            var sum: Float = 0
            for c in 0..<classes {
                let e = (x[c] - m).exp
                p[c] = e
                sum += e
            }
            let inv = 1 / sum
            for c in 0..<classes { p[c] *= inv }
            let logSumExp = m + sum.log
            total += Double(logSumExp - x[labels[r]])
        }
        return total
    }

    static func squaredErrorSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        for i in 0..<count {
            let d = Double(a[i] - b[i])
            total += d * d
        }
        return total
    }

    /// Index of the largest value in each row.
    static func argmaxRows(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Int>) {
        for r in 0..<rows {
            let row = x + r * columns
            var best = 0
            for c in 1..<max(columns, 1) where row[c] > row[best] { best = c }
            out[r] = best
        }
    }
}

extension Float {
    @inline(__always) var exp: Float { Glibc.expf(self) }
    @inline(__always) var log: Float { Glibc.logf(self) }
}
