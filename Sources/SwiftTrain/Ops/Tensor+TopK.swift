/// torch.topk: the k largest (or smallest) entries along a dimension and where they were.
extension Tensor {
    /// The `k` largest entries along `dim` (the smallest when `largest` is false) of a float32
    /// or int64 tensor, with their int64 indices, as torch.topk. The entries come in order
    /// (largest first, or smallest first), ties by index; NaN counts as larger than every
    /// number, as in PyTorch. `sorted: false` is accepted and gives the same order (PyTorch
    /// leaves it unspecified). The gradient of `values` goes back to the chosen entries.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true) throws
        -> (values: Tensor, indices: Tensor)
    {
        guard dtype != .bool else { throw SwiftTrainError.invalid("topk: expected a float32 or int64 tensor, got bool") }
        let d = try normalizedDim(dim, "topk")
        let (outer, n, inner) = split(at: d)
        guard k >= 0, k <= n else {
            throw SwiftTrainError.shape("topk: k (\(k)) is out of range for dimension \(dim) of size \(n) (shape \(shape))")
        }
        var outShape = shape
        if rank > 0 { outShape[d] = k }
        let values = Tensor(uninitialized: outShape, dtype: dtype), indices = Tensor(uninitialized: outShape, dtype: .int64)
        var offsets = [Int](repeating: 0, count: outer * k * inner)
        var row = [Int](repeating: 0, count: n)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                for j in 0..<n { row[j] = j }
                // Ties by index; NaN first among the largest (as PyTorch), last among the smallest.
                if dtype == .float32 {
                    row.sort { a, b in
                        let x = data[base + a * inner], y = data[base + b * inner]
                        if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? a < b : x.isNaN == largest }
                        return x != y ? (largest ? x > y : x < y) : a < b
                    }
                } else {
                    row.sort { a, b in
                        let x = int64Data[base + a * inner], y = int64Data[base + b * inner]
                        return x != y ? (largest ? x > y : x < y) : a < b
                    }
                }
                for j in 0..<k {
                    let dst = (o * k + j) * inner + i
                    offsets[dst] = base + row[j] * inner
                    indices.int64Data[dst] = Int64(row[j])
                }
            }
        }
        for (dst, src) in offsets.enumerated() {
            if dtype == .float32 { values.data[dst] = data[src] } else { values.int64Data[dst] = int64Data[src] }
        }
        if dtype == .float32 { record(values, self) { ScatterAddNode(input: self, offsets: offsets) } }
        return (values, indices)
    }
}
