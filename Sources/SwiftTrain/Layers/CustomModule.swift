/// A model of your own, in Swift: layers as stored properties and a forward of your own.
///
///     final class Classifier: CustomModule {
///         let embedding = try! Embedding(100, 32)
///         let head = try! Linear(32, 2)
///         var isTraining = true
///         func forward(batch: Batch) throws -> ModelOutput {
///             let x = try embedding.forward(batch["input_ids"]!).mean(dims: [1])
///             return ModelOutput(try head.forward(x))
///         }
///     }
///
/// As torch.nn.Module registers attributes, the stored properties are found by reflection:
/// a `Module` is a child named after its property, an array of modules gives children
/// "<property>.0", "<property>.1", ... (torch's ModuleList), a dictionary of modules
/// "<property>.<key>" in key order (ModuleDict), and a `Tensor` that requires gradients is a
/// parameter. So `stateDict()` names are torch's ("head.weight", "layers.0.bias"). Properties
/// of superclasses count too. A module must not keep a stored reference to a module that
/// contains it (its parent): that would be a cycle, which the trainer refuses.
/// Implement `forward(batch:)` (named inputs, may return a loss) or `forward(_:)` (one tensor).
public protocol CustomModule: Module {}

extension CustomModule {
    /// The stored properties of this object and of its superclasses, base class first, with
    /// the names torch would give them (a `lazy var`'s storage loses its prefix).
    private var storedProperties: [(name: String, value: Any)] {
        var chain: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            chain.append(m)
            mirror = m.superclassMirror
        }
        let lazyPrefix = "$__lazy_storage_$_"
        return chain.reversed().flatMap { m in
            m.children.compactMap { child -> (name: String, value: Any)? in
                guard var name = child.label else { return nil }
                if name.hasPrefix(lazyPrefix) { name.removeFirst(lazyPrefix.count) }
                return (name, child.value)
            }
        }
    }

    public var ownParameters: [(String, Tensor)] {
        storedProperties.compactMap { name, value in
            guard let t = value as? Tensor, t.requiresGrad else { return nil }
            return (name, t)
        }
    }

    public var children: [(String, Module)] {
        var out: [(String, Module)] = []
        for (name, value) in storedProperties {
            if let m = value as? Module {
                out.append((name, m))
            } else if let list = value as? [Module] {
                out += list.enumerated().map { ("\(name).\($0.offset)", $0.element) }
            } else if let dict = value as? [String: Module] {
                out += dict.keys.sorted().map { ("\(name).\($0)", dict[$0]!) }
            }
        }
        return out
    }

    /// How deep the modules nest, or Int.max when a module contains itself (a stored
    /// reference back to a parent): the trainer refuses such a model.
    public var nestingDepth: Int { CustomModuleDepth.depth(of: self, path: []) }

    public var description: String {
        "\(Self.self)(\(children.map { "\($0.0): \($0.1.description)" }.joined(separator: ", ")))"
    }

    /// Runs `forward(batch:)` on a batch holding `input` alone (named "input") and returns
    /// its logits.
    public func forward(_ input: Tensor) throws -> Tensor {
        var batch = Batch()
        batch.append("input", input)
        batch.labelNames = []
        batch.fromOneTensor = true
        guard let logits = try forward(batch: batch).logits else {
            throw SwiftTrainError.invalid("\(Self.self).forward(batch:) returned only a loss; forward(_:) needs logits")
        }
        return logits
    }
}

enum CustomModuleDepth {
    static func depth(of module: Module, path: Set<ObjectIdentifier>) -> Int {
        let id = ObjectIdentifier(module)
        guard !path.contains(id), path.count <= Sequential.maxNesting else { return Int.max }
        guard module is CustomModule else { return module.nestingDepth }
        let inner = path.union([id])
        var deepest = 0
        for (_, child) in module.children {
            let d = depth(of: child, path: inner)
            if d == Int.max { return Int.max }
            deepest = Swift.max(deepest, d)
        }
        return 1 + deepest
    }
}

/// A module whose forward is the host's (a C function pointer, a Python method): it holds
/// the forward and the parameters and child modules its owner declared. Autograd stays in
/// the library: the forward builds its outputs from library operations.
public final class HostModule: Module {
    /// The host's forward: the batch, and this module (for its training mode).
    public typealias Forward = (Batch, HostModule) throws -> ModelOutput

    let body: Forward
    /// The name the module's errors and description use ("Net").
    public let typeName: String
    private var declaredParameters: [(String, Tensor)] = []
    private var declaredBuffers: [(String, Tensor)] = []
    private var declaredChildren: [(String, Module)] = []
    /// A module whose state this one took over (see `adopt`).
    public private(set) var adopted: Module?
    public var ownParameters: [(String, Tensor)] { (adopted?.ownParameters ?? []) + declaredParameters }
    public var ownBuffers: [(String, Tensor)] { (adopted?.ownBuffers ?? []) + declaredBuffers }
    public var children: [(String, Module)] { (adopted?.children ?? []) + declaredChildren }
    public var isTraining = true {
        didSet { adopted?.isTraining = isTraining }
    }
    public private(set) var nestingDepth = 1

    public init(typeName: String, forward: @escaping Forward) {
        self.typeName = typeName
        self.body = forward
    }

    private func checkName(_ name: String, _ what: String) throws {
        guard !name.isEmpty, !name.contains(".") else {
            throw SwiftTrainError.invalid("\(typeName): \(what) name '\(name)' must be non-empty and contain no '.' "
                + "(dotted names come from nesting modules)")
        }
        let taken = ownParameters.contains { $0.0 == name } || ownBuffers.contains { $0.0 == name }
            || children.contains { $0.0 == name }
        guard !taken else { throw SwiftTrainError.invalid("\(typeName): the name '\(name)' is already taken") }
    }

    /// Declares a parameter (a float32 tensor; it is made to require gradients).
    public func addParameter(_ name: String, _ tensor: Tensor) throws {
        try checkName(name, "parameter")
        guard tensor.dtype == .float32 else {
            throw SwiftTrainError.invalid("\(typeName): parameter '\(name)' must be float32, got \(tensor.dtype)")
        }
        guard tensor.gradFn == nil else {
            throw SwiftTrainError.invalid("\(typeName): parameter '\(name)' is the result of an operation; "
                + "a parameter must be a leaf tensor (create it, or detach it)")
        }
        guard !namedParameters.contains(where: { $0.tensor === tensor }) else {
            throw SwiftTrainError.invalid("\(typeName): tensor '\(name)' is already a parameter of this module")
        }
        tensor.requiresGrad = true
        declaredParameters.append((name, tensor))
    }

    /// Declares a buffer: state that is saved in the state dict but not trained.
    public func addBuffer(_ name: String, _ tensor: Tensor) throws {
        try checkName(name, "buffer")
        declaredBuffers.append((name, tensor))
    }

    /// Declares a child module: its parameters become "<name>.<its names>".
    public func addChild(_ name: String, _ module: Module) throws {
        try checkName(name, "child module")
        var cycle = false
        module.visit(prefix: "") { _, m in if m === self { cycle = true } }
        guard !cycle else { throw SwiftTrainError.invalid("\(typeName): module '\(name)' contains this module; modules cannot nest in a cycle") }
        var twice = false
        let own = Set(namedParameters.map { ObjectIdentifier($0.tensor) })
        module.visit(prefix: "") { _, m in
            if m === self { return }
            for (_, t) in m.ownParameters where own.contains(ObjectIdentifier(t)) { twice = true }
        }
        guard !twice else {
            throw SwiftTrainError.invalid("\(typeName): module '\(name)' shares parameters with a module already declared; declare each module once")
        }
        let depth = 1 + module.nestingDepth
        guard depth <= Sequential.maxNesting else {
            throw SwiftTrainError.invalid("\(typeName): this would nest modules \(depth) deep, more than \(Sequential.maxNesting)")
        }
        declaredChildren.append((name, module))
        nestingDepth = Swift.max(nestingDepth, depth)
    }

    /// Takes `module`'s parameters, buffers and children as this module's own, under the
    /// same names, and passes training mode on to it: a forward of the host's around a
    /// built-in model keeps that model's state-dict names. Only before anything is declared,
    /// and once.
    public func adopt(_ module: Module) throws {
        guard adopted == nil, declaredParameters.isEmpty, declaredBuffers.isEmpty, declaredChildren.isEmpty else {
            throw SwiftTrainError.misuse("\(typeName): adopt a module first, before declaring anything, and only once")
        }
        var cycle = false
        module.visit(prefix: "") { _, m in if m === self { cycle = true } }
        guard !cycle else { throw SwiftTrainError.invalid("\(typeName): the module to adopt contains this module") }
        guard module.nestingDepth < Sequential.maxNesting else {
            throw SwiftTrainError.invalid("\(typeName): the module to adopt nests \(module.nestingDepth) deep")
        }
        adopted = module
        module.isTraining = isTraining
        nestingDepth = module.nestingDepth
    }

    public func forward(batch: Batch) throws -> ModelOutput {
        do { return try body(batch, self) } catch var error as SwiftTrainError {
            if !error.message.hasPrefix("\(typeName).forward") { error.message = "\(typeName).forward: \(error.message)" }
            throw error
        }
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        var batch = Batch()
        batch.append("input", input)
        batch.labelNames = []
        guard let logits = try forward(batch: batch).logits else {
            throw SwiftTrainError.invalid("\(typeName).forward returned only a loss, not logits")
        }
        return logits
    }

    public var description: String { typeName }
}
