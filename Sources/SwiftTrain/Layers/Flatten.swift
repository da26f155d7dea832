/// torch.nn.Flatten: flattens dimensions startDim...endDim (by default all but the batch).
public final class Flatten: Module {
    public let startDim: Int, endDim: Int
    public var isTraining = true
    public init(startDim: Int = LayerDefaults.flatten.startDim, endDim: Int = LayerDefaults.flatten.endDim) { self.startDim = startDim; self.endDim = endDim }
    public func forward(_ input: Tensor) throws -> Tensor { try input.flatten(startDim: startDim, endDim: endDim) }
    public var ownParameters: [(String, Tensor)] { [] }
    public var description: String { "Flatten(start_dim=\(startDim), end_dim=\(endDim))" }
}
