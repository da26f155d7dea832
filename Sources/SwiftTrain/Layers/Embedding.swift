/// torch.nn.Embedding: a table [numEmbeddings, dim] looked up by int64 indices; N(0, 1)
/// initialisation, the padding row zero and never trained.
public final class Embedding: Module {
    public let weight: Tensor
    public let paddingIndex: Int?
    public var isTraining = true

    public init(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIndex: Int? = nil) throws {
        try Init.positive(numEmbeddings, embeddingDim, names: ["num_embeddings", "embedding_dim"], in: "Embedding")
        var padding = paddingIndex
        if let p = padding {
            guard p >= -numEmbeddings, p < numEmbeddings else {
                throw SwiftTrainError.invalid("Embedding: padding_idx \(p) must be within num_embeddings \(numEmbeddings)")
            }
            padding = p < 0 ? p + numEmbeddings : p
        }
        self.paddingIndex = padding
        weight = try Init.normal([numEmbeddings, embeddingDim])
        if let p = padding { (weight.data + p * embeddingDim).update(repeating: 0, count: embeddingDim) }
    }

    public func forward(_ input: Tensor) throws -> Tensor { try Tensor.embedding(input, weight: weight, paddingIndex: paddingIndex) }
    public var ownParameters: [(String, Tensor)] { [("weight", weight)] }
    public var description: String { "Embedding(\(weight.shape[0]), \(weight.shape[1]))" }
}
