/// The record of how a tensor was computed. An enum rather than closures keeps the tape
/// cheap: no closure contexts per operation, and backward is one switch.
enum Op {
    case linear(input: Tensor, weight: Tensor, bias: Tensor?)
    case matmul(Tensor, Tensor)
    case relu(Tensor)
    case crossEntropy(logits: Tensor, probabilities: Storage, labels: [Int])
    case mse(prediction: Tensor, target: Tensor)

    var inputs: [Tensor] {
        switch self {
        case let .linear(x, w, b): return b.map { [x, w, $0] } ?? [x, w]
        case let .matmul(a, b): return [a, b]
        case let .relu(x): return [x]
        case let .crossEntropy(logits, _, _): return [logits]
        case let .mse(p, t): return [p, t]
        }
    }

    /// Adds d(loss)/d(input) to each input that requires gradients, given `g` = d(loss)/d(output).
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        switch self {
        case let .linear(x, w, b):
            let (batch, inF, outF) = (x.shape[0], x.shape[1], w.shape[0])
            x.accumulateGrad { dx, beta in  // dX [B, in] = G [B, out] W [out, in]
                BLAS.sgemm(transposeA: false, transposeB: false, m: batch, n: inF, k: outF,
                           a: g, lda: outF, b: w.storage.base, ldb: inF, beta: beta, c: dx, ldc: inF)
            }
            w.accumulateGrad { dw, beta in  // dW [out, in] = G^T [out, B] X [B, in]
                BLAS.sgemm(transposeA: true, transposeB: false, m: outF, n: inF, k: batch,
                           a: g, lda: outF, b: x.storage.base, ldb: inF, beta: beta, c: dw, ldc: inF)
            }
            b?.accumulateGrad { db, beta in  // db [out] = column sums of G
                if beta == 0 { db.update(repeating: 0, count: outF) }
                for r in 0..<batch {
                    let row = g + r * outF
                    for c in 0..<outF { db[c] += row[c] }
                }
            }
        case let .matmul(a, b):
            let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
            a.accumulateGrad { da, beta in  // dA [m, k] = G [m, n] B^T
                BLAS.sgemm(transposeA: false, transposeB: true, m: m, n: k, k: n,
                           a: g, lda: n, b: b.storage.base, ldb: n, beta: beta, c: da, ldc: k)
            }
            b.accumulateGrad { db, beta in  // dB [k, n] = A^T G
                BLAS.sgemm(transposeA: true, transposeB: false, m: k, n: n, k: m,
                           a: a.storage.base, lda: k, b: g, ldb: n, beta: beta, c: db, ldc: n)
            }
        case let .relu(x):
            let xs = x.storage.base, n = x.count
            x.accumulateGrad { dx, beta in
                if beta == 0 {
                    for i in 0..<n { dx[i] = xs[i] > 0 ? g[i] : 0 }
                } else {
                    for i in 0..<n { dx[i] += xs[i] > 0 ? g[i] : 0 }
                }
            }
        case let .crossEntropy(logits, probabilities, labels):
            let (rows, classes) = (logits.shape[0], logits.shape[1])
            let scale = g[0] / Float(max(rows, 1))
            let p = probabilities.base
            logits.accumulateGrad { dl, beta in  // (softmax - onehot) * g / rows
                if beta == 0 {
                    for i in 0..<(rows * classes) { dl[i] = scale * p[i] }
                } else {
                    for i in 0..<(rows * classes) { dl[i] += scale * p[i] }
                }
                for r in 0..<rows { dl[r * classes + labels[r]] -= scale }
            }
        case let .mse(prediction, target):
            let n = prediction.count
            let scale = 2 * g[0] / Float(max(n, 1))
            let ps = prediction.storage.base, ts = target.storage.base
            prediction.accumulateGrad { dp, beta in
                if beta == 0 { dp.update(repeating: 0, count: n) }
                for i in 0..<n { dp[i] += scale * (ps[i] - ts[i]) }
            }
            target.accumulateGrad { dt, beta in
                if beta == 0 { dt.update(repeating: 0, count: n) }
                for i in 0..<n { dt[i] -= scale * (ps[i] - ts[i]) }
            }
        }
    }
}

extension Tensor {
    /// Calls `body` with this tensor's gradient buffer and the factor to keep its current
    /// contents: 0 for a fresh, uninitialised buffer (overwrite it, never read it), 1 to
    /// accumulate. Does nothing when the
    /// tensor does not require gradients.
    @inline(__always)
    func accumulateGrad(_ body: (UnsafeMutablePointer<Float>, Float) -> Void) {
        guard requiresGrad else { return }
        if let existing = gradStorage {
            body(existing.base, 1)
        } else {
            let fresh = Storage(count: count)
            body(fresh.base, 0)
            gradStorage = fresh
        }
    }

    /// Computes the gradient of this scalar with respect to every tensor it was computed
    /// from that requires gradients, and adds it to their `grad`. The graph is released
    /// afterwards (intermediate results no longer hold their inputs).
    public func backward() throws {
        guard count == 1 else {
            throw SwiftTrainError.shape("backward() needs a scalar (one element), got shape \(shape); reduce it first")
        }
        guard requiresGrad else {
            throw SwiftTrainError.misuse("backward(): this tensor does not require gradients (no parameter contributed to it, or it was computed under no-grad)")
        }
        // Depth-first post-order of the graph: every tensor comes after its inputs.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            if let op = t.op {
                for input in op.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        accumulateGrad { g, beta in g[0] = beta == 0 ? 1 : g[0] + 1 }
        for t in order.reversed() {
            guard let op = t.op else { continue }
            if let g = t.gradStorage { op.backward(g.base, output: t) }
            t.op = nil          // release the graph
            t.gradStorage = nil // intermediate gradients are not kept (as in PyTorch)
        }
    }
}
