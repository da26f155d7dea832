/// Scaled dot-product attention, composed from batched matmul (k transposed by an sgemm
/// flag), masking and softmax, so its gradient comes from theirs.
extension Tensor {
    /// torch.nn.functional.scaled_dot_product_attention for query [..., L, E], key [..., S, E],
    /// value [..., S, Ev]: softmax(q k^T * scale + mask) v. `mask` is a float tensor added to
    /// the scores or a bool tensor (true = attend), broadcast to [..., L, S]. `isCausal`
    /// masks key positions after each query position. `scale` defaults to 1/sqrt(E).
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = LayerDefaults.scaledDotProductAttention.isCausal,
                                                 scale: Float? = nil) throws -> Tensor {
        let op = "scaled_dot_product_attention"
        guard query.rank >= 2, key.rank >= 2, value.rank >= 2, query.shape.last == key.shape.last,
              key.shape[key.rank - 2] == value.shape[value.rank - 2] else {
            throw SwiftTrainError.shape("\(op): query \(query.shape), key \(key.shape) and value \(value.shape) do not fit "
                + "(expected [..., L, E], [..., S, E], [..., S, Ev])")
        }
        guard !(isCausal && mask != nil) else {
            throw SwiftTrainError.invalid("\(op): give either a mask or is_causal, not both")
        }
        let (l, s, e) = (query.shape[query.rank - 2], key.shape[key.rank - 2], query.shape[query.rank - 1])
        var scores = try batchedMatmul(query, key, transposeB: true, op: op, shapes: (query.shape, key.shape))
        scores = try scores * (scale ?? 1 / Float(e).squareRoot())
        if isCausal {
            try Tensor.checkShape([l, s], op)
            let allowed = try Tensor(shape: [l, s], boolValues: (0..<(l * s)).map { $0 % s <= $0 / s })
            scores = try `where`(allowed, scores, try Tensor.full([], -.infinity))
        } else if let mask {
            switch mask.dtype {
            case .bool: scores = try `where`(mask, scores, try Tensor.full([], -.infinity))
            case .float32: scores = try scores + mask
            case .int64: throw SwiftTrainError(.invalidArgument, "\(op): the mask must be float32 or bool, got int64")
            }
        }
        return try batchedMatmul(try scores.softmax(dim: -1), value, transposeB: false, op: op,
                                 shapes: (scores.shape, value.shape))
    }
}
