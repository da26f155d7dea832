/// A layer or a container of layers (torch.nn.Module).
///
/// A module declares its own parameters, buffers and children; naming ("0.weight",
/// "self_attn.in_proj_weight"), state dicts, train/eval switching and parameter counts are
/// derived from those, once, in the extension below.
public protocol Module: AnyObject, CustomStringConvertible {
    /// Runs the module on one tensor.
    func forward(_ input: Tensor) throws -> Tensor
    /// Runs the module on a batch of named tensors (what the Trainer calls). The default
    /// passes the batch's one input to `forward(_:)`; a model with several inputs, or one that
    /// computes its own loss, implements this instead.
    func forward(batch: Batch) throws -> ModelOutput
    /// This module's own parameters (not its children's), in a stable order.
    var ownParameters: [(String, Tensor)] { get }
    /// This module's own buffers: state that is saved but not trained (running statistics).
    var ownBuffers: [(String, Tensor)] { get }
    /// Named child modules, in order.
    var children: [(String, Module)] { get }
    /// Training mode (dropout active, batch statistics) or evaluation mode.
    var isTraining: Bool { get set }
    /// Whether HF-style weight decay skips this module's parameters (normalisation layers).
    var excludedFromWeightDecay: Bool { get }
    /// How many modules deep the deepest path from here goes (1 without children).
    var nestingDepth: Int { get }
}

extension Module {
    public func forward(batch: Batch) throws -> ModelOutput {
        guard !batch.fromOneTensor else {
            throw SwiftTrainError.invalid("\(type(of: self)) implements neither forward(batch:) nor forward(_:); implement one")
        }
        let inputs = batch.inputs
        guard inputs.count == 1 else {
            throw SwiftTrainError.invalid("\(description) takes one tensor, but the batch has "
                + (inputs.isEmpty ? "no inputs" : "the inputs \(inputs.map(\.name).joined(separator: ", "))")
                + " (labels: \(batch.labelNames.joined(separator: ", "))); give the model a forward that takes the batch by name")
        }
        return ModelOutput(try forward(inputs[0].tensor))
    }

    public var ownBuffers: [(String, Tensor)] { [] }
    public var children: [(String, Module)] { [] }
    public var excludedFromWeightDecay: Bool { false }
    public var nestingDepth: Int { 1 + (children.map { $0.1.nestingDepth }.max() ?? 0) }

    /// Every parameter with its dotted name and whether weight decay applies to it (not to
    /// biases and normalisation weights, as HF's Trainer).
    public var namedParameters: [NamedParameter] {
        var out: [NamedParameter] = []
        visit(prefix: "") { prefix, module in
            for (name, t) in module.ownParameters {
                out.append(NamedParameter(name: prefix + name, tensor: t,
                                          decays: !module.excludedFromWeightDecay && !name.hasSuffix("bias")))
            }
        }
        return out
    }

    /// Every buffer with its dotted name.
    public var namedBuffers: [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        visit(prefix: "") { prefix, module in
            for (name, t) in module.ownBuffers { out.append((prefix + name, t)) }
        }
        return out
    }

    /// Calls `body(prefix, module)` for this module and every descendant, depth first.
    func visit(prefix: String, _ body: (String, Module) -> Void) {
        body(prefix, self)
        for (name, child) in children { child.visit(prefix: prefix + name + ".", body) }
    }

    /// The parameter tensors.
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// The number of scalar parameters.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

    /// Drops every parameter's gradient.
    public func zeroGrad() { for p in namedParameters { p.tensor.zeroGrad() } }

    /// Sets training mode on this module and all its descendants (torch.nn.Module.train).
    public func train(_ on: Bool = true) { visit(prefix: "") { _, m in m.isTraining = on } }

    /// Sets evaluation mode (torch.nn.Module.eval).
    public func eval() { train(false) }

    /// Parameters and buffers by dotted name, in order (torch.nn.Module.state_dict). The
    /// tensors share memory with the module.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        visit(prefix: "") { prefix, module in
            for (name, t) in module.ownParameters { out.append((prefix + name, t)) }
            for (name, t) in module.ownBuffers { out.append((prefix + name, t)) }
        }
        return out
    }

    /// Copies values into the module's parameters and buffers by name
    /// (torch.nn.Module.load_state_dict). With `strict`, every key must match; in any case a
    /// shape or dtype mismatch is an error. Nothing is changed when it throws.
    public func loadStateDict(_ values: [String: Tensor], strict: Bool = true) throws {
        try checkStateDict(values, strict: strict)
        for (name, t) in stateDict() {
            guard let v = values[name] else { continue }
            t.storage.raw.copyMemory(from: v.storage.raw, byteCount: t.count * t.dtype.size)
        }
    }

    /// Throws what `loadStateDict` would, without changing anything.
    public func checkStateDict(_ values: [String: Tensor], strict: Bool = true) throws {
        let own = stateDict()
        let ownNames = Set(own.map(\.name))
        let missing = own.map(\.name).filter { values[$0] == nil }
        let unexpected = values.keys.filter { !ownNames.contains($0) }.sorted()
        var mismatched: [String] = []
        for (name, t) in own {
            guard let v = values[name] else { continue }
            if v.shape != t.shape || v.dtype != t.dtype {
                mismatched.append("\(name): expected \(t.dtype) \(t.shape), got \(v.dtype) \(v.shape)")
            }
        }
        var problems: [String] = []
        if strict && !missing.isEmpty { problems.append("missing keys: \(missing.joined(separator: ", "))") }
        if strict && !unexpected.isEmpty { problems.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        if !mismatched.isEmpty { problems.append("mismatched shapes: \(mismatched.joined(separator: "; "))") }
        guard problems.isEmpty else {
            let onlyShapes = problems.count == 1 && !mismatched.isEmpty
            throw SwiftTrainError(onlyShapes ? .shapeMismatch : .invalidArgument, "load_state_dict: " + problems.joined(separator: "; "))
        }
    }
}

/// A trainable parameter with its dotted name and whether weight decay applies to it.
public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    public let decays: Bool
}

/// Parameter initialisation as PyTorch does it, from the default generator.
enum Init {
    /// Uniform in [-bound, bound).
    static func uniform(_ shape: [Int], bound: Float) throws -> Tensor {
        try Tensor.checkShape(shape, "parameter")
        let t = Tensor.zeros(shape, requiresGrad: true)
        DefaultGenerator.withGenerator { gen in
            for i in 0..<t.count { t.data[i] = gen.uniform(-bound, bound) }
        }
        return t
    }

    /// Standard normal.
    static func normal(_ shape: [Int]) throws -> Tensor {
        try Tensor.checkShape(shape, "parameter")
        let t = Tensor.zeros(shape, requiresGrad: true)
        DefaultGenerator.withGenerator { gen in
            for i in 0..<t.count { t.data[i] = gen.nextNormal() }
        }
        return t
    }

    static func constant(_ shape: [Int], _ value: Float, requiresGrad: Bool = true) throws -> Tensor {
        try Tensor.checkShape(shape, "parameter")
        let t = Tensor.zeros(shape, requiresGrad: requiresGrad)
        t.data.update(repeating: value, count: t.count)
        return t
    }

    static func positive(_ values: Int..., names: [String], in op: String) throws {
        for (v, name) in zip(values, names) where v <= 0 {
            throw SwiftTrainError.invalid("\(op): \(name) must be positive, got \(v)")
        }
    }
}
