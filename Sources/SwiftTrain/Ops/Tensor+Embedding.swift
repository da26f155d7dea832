/// Embedding lookup and dropout.
extension Tensor {
    /// Rows of `weight` [numEmbeddings, dim] at int64 `indices` (any shape): shape
    /// indices.shape + [dim] (torch.nn.functional.embedding). Rows at `paddingIndex` get no
    /// gradient.
    public static func embedding(_ indices: Tensor, weight: Tensor, paddingIndex: Int? = nil) throws -> Tensor {
        guard indices.dtype == .int64 else {
            throw SwiftTrainError(.invalidArgument, "embedding: indices must be int64, got \(indices.dtype)")
        }
        try weight.requireFloat("embedding")
        guard weight.rank == 2 else { throw SwiftTrainError.shape("embedding: weight must be [num_embeddings, dim], got \(weight.shape)") }
        let (v, d) = (weight.shape[0], weight.shape[1])
        let ix = indices.int64Data
        for i in 0..<indices.count where ix[i] < 0 || ix[i] >= v {
            throw SwiftTrainError.invalid("embedding: index \(ix[i]) is out of range for \(v) embeddings")
        }
        try Tensor.checkShape(indices.shape + [d], "embedding")
        let out = Tensor(uninitialized: indices.shape + [d])
        for i in 0..<indices.count { (out.data + i * d).update(from: weight.data + Int(ix[i]) * d, count: d) }
        record(out, weight) { EmbeddingNode(weight: weight, indices: indices, paddingIndex: paddingIndex) }
        return out
    }

    /// Zeroes each element with probability `p` and scales the rest by 1/(1-p) when
    /// `training`; the identity otherwise (torch.nn.functional.dropout). The mask comes
    /// from `generator`.
    public func dropout(p: Float = LayerDefaults.dropout.p, training: Bool = LayerDefaults.dropout.training,
                        generator: inout Generator) throws -> Tensor {
        try requireFloat("dropout")
        guard p >= 0, p <= 1 else { throw SwiftTrainError.invalid("dropout: p must be in [0, 1], got \(p)") }
        guard training, p > 0 else { return self }
        let mask = Storage(count: count)
        let scale: Float = p == 1 ? 0 : 1 / (1 - p)
        for i in 0..<count { mask.base[i] = generator.nextFloat() < p ? 0 : scale }
        let out = Tensor(uninitialized: shape)
        for i in 0..<count { out.data[i] = data[i] * mask.base[i] }
        record(out, self) { MaskNode(input: self, mask: mask) }
        return out
    }
}

final class EmbeddingNode: GradNode {
    let weight: Tensor, indices: Tensor, paddingIndex: Int?
    init(weight: Tensor, indices: Tensor, paddingIndex: Int?) { self.weight = weight; self.indices = indices; self.paddingIndex = paddingIndex }
    func forEachInput(_ body: (Tensor) -> Void) { body(weight) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let d = weight.shape[1], ix = indices.int64Data
        weight.accumulateGrad { dw, beta in
            if beta == 0 { dw.update(repeating: 0, count: weight.count) }
            for i in 0..<indices.count where Int(ix[i]) != paddingIndex {
                let row = dw + Int(ix[i]) * d, src = g + i * d
                for j in 0..<d { row[j] += src[j] }
            }
        }
    }
}

/// Gradient of an element-wise product with a constant mask (dropout).
final class MaskNode: GradNode {
    let input: Tensor, mask: Storage
    init(input: Tensor, mask: Storage) { self.input = input; self.mask = mask }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let m = mask.base, n = input.count
        input.accumulateGrad { dx, beta in
            for i in 0..<n { dx[i] = (beta == 0 ? 0 : dx[i]) + g[i] * m[i] }
        }
    }
}
