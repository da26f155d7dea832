/// A fully connected layer `y = x W^T + b` (torch.nn.Linear): W is [out, in], b is [out],
/// both initialised uniformly in +-1/sqrt(in) from the default generator, as PyTorch does.
/// Input [..., in], output [..., out].
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public var isTraining = true

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws {
        try Init.positive(inFeatures, outFeatures, names: ["in_features", "out_features"], in: "Linear")
        guard !inFeatures.multipliedReportingOverflow(by: outFeatures).overflow, inFeatures * outFeatures <= 1 << 31 else {
            throw SwiftTrainError.invalid("Linear(\(inFeatures), \(outFeatures)): the weight would have more than 2^31 elements")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = try Init.uniform([outFeatures, inFeatures], bound: bound)
        self.bias = bias ? try Init.uniform([outFeatures], bound: bound) : nil
    }

    public func forward(_ input: Tensor) throws -> Tensor { try input.linear(weight: weight, bias: bias) }
    public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
    public var description: String { "Linear(\(inFeatures), \(outFeatures)\(bias == nil ? ", bias=False" : ""))" }
}

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

/// torch.nn.Dropout: zeroes elements with probability p in training (mask from the default
/// generator), the identity in evaluation.
public final class Dropout: Module {
    public let p: Float
    public var isTraining = true

    public init(p: Float = 0.5) throws {
        guard p >= 0, p <= 1 else { throw SwiftTrainError.invalid("Dropout: p must be in [0, 1], got \(p)") }
        self.p = p
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        guard isTraining, p > 0 else { return input }
        return try DefaultGenerator.withGenerator { try input.dropout(p: p, training: true, generator: &$0) }
    }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String { "Dropout(p=\(p))" }
}

/// torch.nn.Flatten: flattens dimensions startDim...endDim (by default all but the batch).
public final class Flatten: Module {
    public let startDim: Int, endDim: Int
    public var isTraining = true
    public init(startDim: Int = 1, endDim: Int = -1) { self.startDim = startDim; self.endDim = endDim }
    public func forward(_ input: Tensor) throws -> Tensor { try input.flatten(startDim: startDim, endDim: endDim) }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String { "Flatten(start_dim=\(startDim), end_dim=\(endDim))" }
}

/// Runs its children in order (torch.nn.Sequential). Children are named "0", "1", ...
public final class Sequential: Module {
    public let layers: [Module]
    public var isTraining = true
    /// How many modules deep this one nests (computed once; containers cache theirs).
    public let nestingDepth: Int
    /// Forward, freeing and the module walks recurse once per level; deeper nesting than this
    /// is refused when the Sequential is built, so they stay well inside a thread's stack.
    public static let maxNesting = 1000

    public init(_ layers: [Module]) throws {
        var seen = Set<ObjectIdentifier>()
        for (i, layer) in layers.enumerated() where !seen.insert(ObjectIdentifier(layer)).inserted {
            throw SwiftTrainError.invalid("Sequential: module \(i) appears twice; create a separate module for each position")
        }
        nestingDepth = 1 + (layers.map(\.nestingDepth).max() ?? 0)
        guard nestingDepth <= Self.maxNesting else {
            throw SwiftTrainError.invalid("Sequential: this would nest modules \(nestingDepth) deep, more than "
                + "\(Self.maxNesting); put the layers in one Sequential instead of wrapping the previous one")
        }
        self.layers = layers
    }

    public convenience init(_ layers: Module...) throws { try self.init(layers) }

    public func forward(_ input: Tensor) throws -> Tensor {
        var x = input
        for (i, layer) in layers.enumerated() {
            do { x = try layer.forward(x) } catch var error as SwiftTrainError {
                // a nested Sequential is named by its type: its description holds every layer below
                let name = layer is Sequential ? "Sequential" : layer.description
                error.message = "Sequential module \(i) (\(name)): \(error.message)"
                throw error
            }
        }
        return x
    }

    public var ownParameters: [(String, Tensor)] { [] }
    public var children: [(String, Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }
    public var description: String { "Sequential(\(layers.map(\.description).joined(separator: ", ")))" }
}
