/// torch.nn.Dropout: zeroes elements with probability p in training (mask from the default
/// generator), the identity in evaluation.
public final class Dropout: Module {
    public let p: Float
    public var isTraining = true

    public init(p: Float = LayerDefaults.dropout.p) throws {
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
