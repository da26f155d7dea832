/// Reductions along dimensions (sum, mean, max, min, argmax, var, std), PyTorch semantics.
extension Tensor {
    /// Normalises possibly negative dimensions, naming the op in errors.
    func normalizedDims(_ dims: [Int], _ op: String) throws -> [Int] {
        let r = Swift.max(rank, 1)
        var out: [Int] = []
        for d in dims {
            let n = d < 0 ? d + r : d
            guard n >= 0, n < r else {
                throw SwiftTrainError.invalid("\(op): dimension \(d) is out of range for a tensor of shape \(shape)")
            }
            guard !out.contains(n) else { throw SwiftTrainError.invalid("\(op): dimension \(d) appears twice") }
            out.append(n)
        }
        return out.sorted()
    }

    func normalizedDim(_ dim: Int, _ op: String) throws -> Int { try normalizedDims([dim], op)[0] }

    /// normalizedDim for an operation that reads the dimension's size: a 0-dimensional tensor has
    /// none (PyTorch: "cannot be applied to a 0-dim tensor"), where normalizedDim lets dim 0 and
    /// -1 stand for it, as reductions do.
    func normalizedSizedDim(_ dim: Int, _ op: String) throws -> Int {
        guard rank > 0 else {
            throw SwiftTrainError.invalid("\(op): a 0-dimensional tensor (a scalar) has no dimension \(dim) to index; reshape it to [1] first")
        }
        return try normalizedDim(dim, op)
    }

    /// (product of dims before d, size of d, product of dims after d).
    func split(at d: Int) -> (outer: Int, n: Int, inner: Int) {
        guard rank > 0 else { return (1, 1, 1) }
        return (shape[..<d].reduce(1, *), shape[d], shape[(d + 1)...].reduce(1, *))
    }

    /// Sum over `dims` (all when nil), keeping them as size 1 when `keepdim`.
    public func sum(dims: [Int]? = nil, keepdim: Bool = LayerDefaults.reduce.keepdim) throws -> Tensor {
        try requireFloat("sum")
        let reduced = try normalizedDims(dims ?? Array(0..<rank), "sum")
        var kept = shape
        for d in reduced where d < rank { kept[d] = 1 }
        let out = Tensor(uninitialized: kept)
        reduceSum(data, shape, into: out.data, kept)
        record(out, self) { ExpandNode(input: self) }
        return keepdim ? out : try out.reshapedView(shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element))
    }

    /// Mean over `dims` (all when nil).
    public func mean(dims: [Int]? = nil, keepdim: Bool = LayerDefaults.reduce.keepdim) throws -> Tensor {
        let reduced = try normalizedDims(dims ?? Array(0..<rank), "mean")
        let n = reduced.reduce(1) { $0 * (rank == 0 ? 1 : shape[$1]) }
        return try sum(dims: dims, keepdim: keepdim) * (1 / Float(Swift.max(n, 0)))
    }

    /// Variance over `dims` with `correction` (1: unbiased, as torch.var's default).
    public func variance(dims: [Int]? = nil, correction: Int = LayerDefaults.variance.correction, keepdim: Bool = LayerDefaults.variance.keepdim) throws -> Tensor {
        let reduced = try normalizedDims(dims ?? Array(0..<rank), "var")
        let n = reduced.reduce(1) { $0 * (rank == 0 ? 1 : shape[$1]) }
        let centered = try self - (try mean(dims: dims, keepdim: true))
        let divisor = Swift.max(Double(n) - Double(correction), 0)  // no integer overflow for any correction
        return try (try centered * centered).sum(dims: dims, keepdim: keepdim) * Float(1 / divisor)
    }

    /// Standard deviation: sqrt(variance).
    public func std(dims: [Int]? = nil, correction: Int = LayerDefaults.std.correction, keepdim: Bool = LayerDefaults.std.keepdim) throws -> Tensor {
        try variance(dims: dims, correction: correction, keepdim: keepdim).sqrt()
    }

    /// Largest value along `dim` and its index (the first among ties), like torch.max(x, dim).
    public func max(dim: Int, keepdim: Bool = LayerDefaults.reduce.keepdim) throws -> (values: Tensor, indices: Tensor) {
        try extreme(dim: dim, keepdim: keepdim, largest: true)
    }

    /// Smallest value along `dim` and its index.
    public func min(dim: Int, keepdim: Bool = LayerDefaults.reduce.keepdim) throws -> (values: Tensor, indices: Tensor) {
        try extreme(dim: dim, keepdim: keepdim, largest: false)
    }

    /// The largest element (a scalar); the gradient is shared evenly among ties, as PyTorch does.
    public func max() throws -> Tensor { try extremeAll(largest: true) }

    /// The smallest element.
    public func min() throws -> Tensor { try extremeAll(largest: false) }

    /// Index of the largest value along `dim` (int64), or of the whole flattened tensor.
    public func argmax(dim: Int? = nil, keepdim: Bool = LayerDefaults.reduce.keepdim) throws -> Tensor {
        guard let dim else {
            let flat = try reshapedView([count])
            return try withNoGrad { try flat.extreme(dim: 0, keepdim: false, largest: true).indices }
        }
        return try withNoGrad { try extreme(dim: dim, keepdim: keepdim, largest: true).indices }
    }

    private func extreme(dim: Int, keepdim: Bool, largest: Bool) throws -> (values: Tensor, indices: Tensor) {
        let op = largest ? "max" : "min"
        try requireFloat(op)
        let d = try normalizedDim(dim, op)
        let (outer, n, inner) = split(at: d)
        guard n > 0 else { throw SwiftTrainError.invalid("\(op): dimension \(dim) of shape \(shape) is empty") }
        var kept = shape
        if rank > 0 { kept[d] = 1 }
        let values = Tensor(uninitialized: kept), indices = Tensor(uninitialized: kept, dtype: .int64)
        let x = data, v = values.data, ix = indices.int64Data
        for o in 0..<outer {
            for i in 0..<inner {
                var best = x[o * n * inner + i], at = 0
                for k in 1..<n {
                    let value = x[(o * n + k) * inner + i]
                    if largest ? (value > best || (value.isNaN && !best.isNaN)) : (value < best || (value.isNaN && !best.isNaN)) {
                        best = value
                        at = k
                    }
                }
                v[o * inner + i] = best
                ix[o * inner + i] = Int64(at)
            }
        }
        record(values, self) { IndexedReductionNode(input: self, indices: indices, dim: d) }
        let finalShape = keepdim || rank == 0 ? kept : shape.enumerated().filter { $0.offset != d }.map(\.element)
        return (try values.reshapedView(finalShape), try indices.reshapedView(finalShape))
    }

    private func extremeAll(largest: Bool) throws -> Tensor {
        let op = largest ? "max" : "min"
        try requireFloat(op)
        guard count > 0 else { throw SwiftTrainError.invalid("\(op)(): the tensor is empty") }
        var best = data[0]
        for i in 1..<count where largest ? data[i] > best : data[i] < best { best = data[i] }
        let out = try Tensor.full([], best)
        record(out, self) { TieShareNode(input: self) }
        return out
    }
}

/// Sums `src` (shape `shape`) into `dst` (shape `kept`: `shape` with reduced dims set to 1).
func reduceSum(_ src: UnsafePointer<Float>, _ shape: [Int], into dst: UnsafeMutablePointer<Float>, _ kept: [Int]) {
    let n = kept.reduce(1, *)
    dst.update(repeating: 0, count: n)
    guard shape.reduce(1, *) > 0 else { return }
    let strides = Broadcast.strides(of: kept, in: shape)
    let inner = shape.last ?? 1, innerStride = strides.last ?? 0
    Broadcast.forEachRow(shape, [strides]) { row, off in
        let d = dst + off[0], s = src + row
        if innerStride == 0 {
            var acc: Float = 0
            for j in 0..<inner { acc += s[j] }
            d[0] += acc
        } else {
            for j in 0..<inner { d[j] += s[j] }
        }
    }
}

/// Broadcasts `src` (shape `small`) to `dst` (shape `shape`).
func broadcastCopy(_ src: UnsafePointer<Float>, _ small: [Int], into dst: UnsafeMutablePointer<Float>, _ shape: [Int]) {
    guard shape.reduce(1, *) > 0 else { return }
    let strides = Broadcast.strides(of: small, in: shape)
    let inner = shape.last ?? 1, innerStride = strides.last ?? 0
    Broadcast.forEachRow(shape, [strides]) { row, off in
        let s = src + off[0], d = dst + row
        if innerStride == 0 { d.update(repeating: s[0], count: inner) } else { d.update(from: s, count: inner) }
    }
}

/// Gradient of a sum: the output gradient broadcast back over the reduced dimensions.
final class ExpandNode: GradNode {
    let input: Tensor
    init(input: Tensor) { self.input = input }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let full = Storage(count: input.count)
        broadcastCopy(g, output.shape, into: full.base, input.shape)
        input.accumulateGrad(broadcast: full.base, shape: input.shape)
    }
}

/// Gradient of max/min along a dimension: to the chosen index.
final class IndexedReductionNode: GradNode {
    let input: Tensor, indices: Tensor, dim: Int
    init(input: Tensor, indices: Tensor, dim: Int) { self.input = input; self.indices = indices; self.dim = dim }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (outer, n, inner) = input.split(at: dim)
        let ix = indices.int64Data
        input.accumulateGrad { dx, beta in
            if beta == 0 { dx.update(repeating: 0, count: input.count) }
            for o in 0..<outer {
                for i in 0..<inner { dx[(o * n + Int(ix[o * inner + i])) * inner + i] += g[o * inner + i] }
            }
        }
    }
}

/// Gradient of a whole-tensor max/min: shared evenly among the elements equal to it.
final class TieShareNode: GradNode {
    let input: Tensor
    init(input: Tensor) { self.input = input }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let best = output.data[0], x = input.data, n = input.count
        var ties = 0
        for i in 0..<n where x[i] == best { ties += 1 }
        let share = g[0] / Float(Swift.max(ties, 1))
        input.accumulateGrad { dx, beta in
            for i in 0..<n {
                let v: Float = x[i] == best ? share : 0
                if beta == 0 { dx[i] = v } else { dx[i] += v }
            }
        }
    }
}
