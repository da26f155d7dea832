/// The sequence layers of configs: "embedding" (torch's num_embeddings, embedding_dim,
/// padding_idx) and "transformer_encoder_layer" (d_model, nhead, dim_feedforward, dropout,
/// activation, layer_norm_eps, batch_first, norm_first, bias; PyTorch's defaults).
enum SequenceLayers {
    static let embeddingKeys = ["num_embeddings", "embedding_dim", "padding_idx"]
    static let transformerKeys = ["d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps", "batch_first",
                                  "norm_first", "bias"]

    static func embedding(_ o: inout ConfigObject) throws -> Module {
        let (n, d) = (try o.int("num_embeddings"), try o.int("embedding_dim"))
        try ConfigRegistry.checkSize(o.path, [n, d])
        let padding = try o.value("padding_idx").map { _ in try o.int("padding_idx") }
        return TokenEmbedding(try Embedding(n, d, paddingIndex: padding))
    }

    static func transformerEncoderLayer(_ o: inout ConfigObject) throws -> Module {
        let d = LayerDefaults.transformerEncoderLayer
        let (model, heads) = (try o.int("d_model"), try o.int("nhead"))
        let feedforward = try o.int("dim_feedforward", d.dimFeedforward)
        try ConfigRegistry.checkSize(o.path, [model, heads, feedforward])
        try ConfigRegistry.checkSize(o.path, [model, Swift.max(model, feedforward) * 4])
        return try TransformerEncoderLayer(dModel: model, nhead: heads, dimFeedforward: feedforward,
                                           dropout: Float(try o.double("dropout", Double(d.dropout))),
                                           activation: try o.string("activation", d.activation.name),
                                           layerNormEps: Float(try o.double("layer_norm_eps", Double(d.layerNormEps))),
                                           batchFirst: try o.bool("batch_first", d.batchFirst), normFirst: try o.bool("norm_first", d.normFirst),
                                           bias: try o.bool("bias", d.bias))
    }
}

/// torch.nn.Embedding for a config's data: a dataset's features are float32, so token ids
/// arrive as whole floats and are looked up as the int64 indices they are (anything else is an
/// error); int64 input passes as is. Its state is Embedding's ("weight").
final class TokenEmbedding: Module {
    let embedding: Embedding
    var isTraining = true

    init(_ embedding: Embedding) { self.embedding = embedding }

    func forward(_ input: Tensor) throws -> Tensor {
        guard input.dtype != .int64 else { return try embedding.forward(input) }
        if let bad = input.values.first(where: { $0.rounded() != $0 }) {
            throw SwiftTrainError.invalid("embedding: input \(bad) is not a token id (a whole number)")
        }
        return try embedding.forward(try input.to(.int64))
    }

    var ownParameters: [(String, Tensor)] { embedding.ownParameters }
    var ownBuffers: [(String, Tensor)] { [] }
    var children: [(String, Module)] { [] }
    var excludedFromWeightDecay: Bool { false }
    var nestingDepth: Int { 1 }
    var description: String { embedding.description }
}
