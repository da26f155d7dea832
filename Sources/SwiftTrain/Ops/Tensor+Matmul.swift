/// Matrix products through OpenBLAS sgemm; transposes are sgemm flags, never copies.
extension Tensor {
    /// torch.matmul: 1-D x 1-D is a dot product, 2-D x 2-D a matrix product, and higher
    /// ranks are batches of matrices with broadcast batch dimensions.
    public func matmul(_ other: Tensor) throws -> Tensor {
        try requireFloat("matmul")
        try other.requireFloat("matmul")
        guard rank >= 1, other.rank >= 1 else {
            throw SwiftTrainError.shape("matmul: both operands need at least one dimension, got \(shape) and \(other.shape)")
        }
        let a = rank == 1 ? try unsqueeze(dim: 0) : self
        let b = other.rank == 1 ? try other.unsqueeze(dim: 1) : other
        var result = try batchedMatmul(a, b, transposeB: false, op: "matmul", shapes: (shape, other.shape))
        if other.rank == 1 { result = try result.squeeze(dim: -1) }
        if rank == 1 { result = try result.squeeze(dim: result.rank == 1 ? 0 : -2) }
        return result
    }

    /// torch.nn.functional.linear: `self` [..., in] x `weight` [out, in]^T + `bias` [out].
    public func linear(weight: Tensor, bias: Tensor?) throws -> Tensor {
        try requireFloat("linear")
        guard rank >= 1, weight.rank == 2, shape[rank - 1] == weight.shape[1] else {
            throw SwiftTrainError.shape(
                "linear: input shape \(shape) does not fit weight shape \(weight.shape) (expected input [..., \(weight.rank == 2 ? weight.shape[1] : 0)])")
        }
        let outF = weight.shape[0]
        if let bias, bias.shape != [outF] {
            throw SwiftTrainError.shape("linear: bias shape \(bias.shape) does not fit weight shape \(weight.shape)")
        }
        try Tensor.checkShape(Array(shape.dropLast()) + [outF], "linear")
        try BLAS.load()
        let inF = weight.shape[1], rows = count / Swift.max(inF, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [outF])
        let y = out.data
        if let bias {  // y = bias broadcast over rows, then y += x W^T
            for r in 0..<rows { (y + r * outF).update(from: bias.data, count: outF) }
        }
        if rows > 0 && outF > 0 {
            BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: outF, k: inF,
                       a: data, lda: inF, b: weight.data, ldb: inF, beta: bias == nil ? 0 : 1, c: y, ldc: outF)
        }
        record(out, self, weight, bias) { LinearNode(input: self, weight: weight, bias: bias) }
        return out
    }
}

/// [..., m, k] x [..., k, n] (or x [..., n, k]^T) with broadcast batch dimensions.
func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeB: Bool, op: String,
                   shapes: ([Int], [Int])) throws -> Tensor {
    guard a.rank >= 2, b.rank >= 2 else {
        throw SwiftTrainError.shape("\(op): shapes \(shapes.0) and \(shapes.1) cannot be multiplied")
    }
    let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (kb, n) = transposeB ? (b.shape[b.rank - 1], b.shape[b.rank - 2]) : (b.shape[b.rank - 2], b.shape[b.rank - 1])
    guard k == kb else {
        throw SwiftTrainError.shape("\(op): shapes \(shapes.0) and \(shapes.1) cannot be multiplied (\(k) vs \(kb))")
    }
    let batchShape: [Int]
    do {
        batchShape = try Broadcast.shape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), op: op)
    } catch {
        throw SwiftTrainError.shape("\(op): the batch dimensions of shapes \(shapes.0) and \(shapes.1) cannot be broadcast together")
    }
    try Tensor.checkShape(batchShape + [m, n], op)
    try BLAS.load()
    let plan = BatchPlan(batchShape: batchShape, a: Array(a.shape.dropLast(2)), b: Array(b.shape.dropLast(2)))
    let out = Tensor(uninitialized: batchShape + [m, n])
    for i in 0..<plan.count where m > 0 && n > 0 {
        let c = out.data + i * m * n
        if k == 0 { c.update(repeating: 0, count: m * n); continue }
        BLAS.sgemm(transposeA: false, transposeB: transposeB, m: m, n: n, k: k,
                   a: a.data + plan.aOffsets[i] * m * k, lda: k,
                   b: b.data + plan.bOffsets[i] * k * n, ldb: transposeB ? k : n, beta: 0, c: c, ldc: n)
    }
    record(out, a, b) { MatmulNode(a: a, b: b, transposeB: transposeB, plan: plan, m: m, k: k, n: n) }
    return out
}

/// Which matrix of each operand every batch entry uses (broadcasting).
struct BatchPlan {
    let count: Int
    let aOffsets: [Int], bOffsets: [Int]

    init(batchShape: [Int], a: [Int], b: [Int]) {
        count = batchShape.reduce(1, *)
        let sa = Broadcast.strides(of: a, in: batchShape), sb = Broadcast.strides(of: b, in: batchShape)
        var aOffsets = [Int](), bOffsets = [Int]()
        aOffsets.reserveCapacity(count)
        bOffsets.reserveCapacity(count)
        if batchShape.isEmpty {
            aOffsets = [0]; bOffsets = [0]
        } else {
            let inner = batchShape.last!, ia = sa.last!, ib = sb.last!
            Broadcast.forEachRow(batchShape, [sa, sb]) { _, off in
                for j in 0..<inner {
                    aOffsets.append(off[0] + j * ia)
                    bOffsets.append(off[1] + j * ib)
                }
            }
        }
        self.aOffsets = aOffsets
        self.bOffsets = bOffsets
    }
}

final class MatmulNode: GradNode {
    let a: Tensor, b: Tensor, transposeB: Bool, plan: BatchPlan, m: Int, k: Int, n: Int
    init(a: Tensor, b: Tensor, transposeB: Bool, plan: BatchPlan, m: Int, k: Int, n: Int) {
        self.a = a; self.b = b; self.transposeB = transposeB; self.plan = plan; self.m = m; self.k = k; self.n = n
    }
    func forEachInput(_ body: (Tensor) -> Void) { body(a); body(b) }

    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (m, k, n) = (self.m, self.k, self.n)
        guard m > 0, n > 0, k > 0 else { return }
        // Entries that share a matrix (broadcast) accumulate into it: beta 1 after the first.
        func run(_ t: Tensor, _ offsets: [Int], _ size: Int, _ gemm: (Int, UnsafeMutablePointer<Float>, Float) -> Void) {
            t.accumulateGrad { dt, beta in
                var written = Set<Int>()
                for i in 0..<plan.count {
                    let first = written.insert(offsets[i]).inserted
                    gemm(i, dt + offsets[i] * size, first ? beta : 1)
                }
                if beta == 0 {  // matrices no batch entry used stay zero
                    let total = t.count / Swift.max(size, 1)
                    for j in 0..<total where !written.contains(j) { (dt + j * size).update(repeating: 0, count: size) }
                }
            }
        }
        run(a, plan.aOffsets, m * k) { i, da, beta in  // dA = G B^T (or G B when B was transposed)
            BLAS.sgemm(transposeA: false, transposeB: !transposeB, m: m, n: k, k: n,
                       a: g + i * m * n, lda: n, b: b.data + plan.bOffsets[i] * k * n, ldb: transposeB ? k : n,
                       beta: beta, c: da, ldc: k)
        }
        run(b, plan.bOffsets, k * n) { i, db, beta in
            if transposeB {  // B is [n, k]: dB = G^T A
                BLAS.sgemm(transposeA: true, transposeB: false, m: n, n: k, k: m,
                           a: g + i * m * n, lda: n, b: a.data + plan.aOffsets[i] * m * k, ldb: k,
                           beta: beta, c: db, ldc: k)
            } else {  // dB = A^T G
                BLAS.sgemm(transposeA: true, transposeB: false, m: k, n: n, k: m,
                           a: a.data + plan.aOffsets[i] * m * k, lda: k, b: g + i * m * n, ldb: n,
                           beta: beta, c: db, ldc: n)
            }
        }
    }
}

final class LinearNode: GradNode {
    let input: Tensor, weight: Tensor, bias: Tensor?
    init(input: Tensor, weight: Tensor, bias: Tensor?) { self.input = input; self.weight = weight; self.bias = bias }
    func forEachInput(_ body: (Tensor) -> Void) {
        body(input)
        body(weight)
        if let bias { body(bias) }
    }

    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (inF, outF) = (weight.shape[1], weight.shape[0])
        let rows = input.count / Swift.max(inF, 1)
        guard rows > 0 else { return }
        input.accumulateGrad { dx, beta in  // dX [rows, in] = G [rows, out] W [out, in]
            BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: inF, k: outF,
                       a: g, lda: outF, b: weight.data, ldb: inF, beta: beta, c: dx, ldc: inF)
        }
        weight.accumulateGrad { dw, beta in  // dW [out, in] = G^T [out, rows] X [rows, in]
            BLAS.sgemm(transposeA: true, transposeB: false, m: outF, n: inF, k: rows,
                       a: g, lda: outF, b: input.data, ldb: inF, beta: beta, c: dw, ldc: inF)
        }
        bias?.accumulateGrad { db, beta in  // db [out] = column sums of G
            if beta == 0 { db.update(repeating: 0, count: outF) }
            for r in 0..<rows {
                let row = g + r * outF
                for c in 0..<outF { db[c] += row[c] }
            }
        }
    }
}
