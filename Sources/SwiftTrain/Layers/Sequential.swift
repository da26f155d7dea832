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
