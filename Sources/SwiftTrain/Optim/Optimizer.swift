/// Parameters that share hyper-parameters (PyTorch's param_groups entries). HF's Trainer
/// makes two: the parameters that get weight decay and those that do not.
public struct ParameterGroup {
    public var parameters: [Tensor]
    /// The learning rate of the next step. Schedules set it from `initialLearningRate`.
    public var learningRate: Double
    /// The learning rate the group was created with (PyTorch's "initial_lr").
    public let initialLearningRate: Double
    public var weightDecay: Double
    /// SGD/RMSprop momentum, or beta1 of Adam, AdamW and Lion: what a momentum schedule sets.
    public var momentum: Double

    public init(_ parameters: [Tensor], learningRate: Double, weightDecay: Double = 0, momentum: Double = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.initialLearningRate = learningRate
        self.weightDecay = weightDecay
        self.momentum = momentum
    }
}

/// Updates parameters from their gradients with a PyTorch update rule. Parameters without a
/// gradient are skipped (their state, including the step count, does not advance).
/// Subclasses name their state buffers and implement `update` for one parameter.
public class Optimizer {
    public var paramGroups: [ParameterGroup]
    /// Per group, per parameter: the step count and the state buffers (nil until first used).
    var states: [[ParameterState]]

    final class ParameterState {
        var step = 0
        var buffers: [Storage?]
        /// Which buffers were created for the step being taken (SGD's "buf is None").
        var fresh: [Bool]
        init(slots: Int) {
            buffers = Array(repeating: nil, count: slots)
            fresh = Array(repeating: false, count: slots)
        }
    }

    /// Whether PyTorch's state for this optimizer has a "step" (not SGD's, not Lion's).
    var savesStep: Bool { true }

    /// The names of the per-parameter state buffers, PyTorch's ("exp_avg", ...).
    var stateNames: [String] { [] }

    init(_ groups: [ParameterGroup], name: String) throws {
        guard !groups.isEmpty, groups.contains(where: { !$0.parameters.isEmpty }) else {
            throw SwiftTrainError.invalid("\(name): got an empty parameter list")
        }
        self.name = name
        paramGroups = groups
        states = []
        states = groups.map { $0.parameters.map { _ in ParameterState(slots: stateNames.count) } }
        for (i, g) in groups.enumerated() {
            do { try checkGroup(g) } catch var e as SwiftTrainError {
                e.message += " (parameter group \(i))"
                throw e
            }
            for p in g.parameters where p.dtype != .float32 {
                throw SwiftTrainError(.invalidArgument, "\(name): parameters must be float32, got \(p.dtype) \(p.shape)")
            }
        }
    }

    /// The optimizer's name in messages ("AdamW").
    let name: String

    /// Throws, naming the value, when a group's hyper-parameters make no sense for this
    /// optimizer. Subclasses add their momentum / beta1 rules.
    func checkGroup(_ g: ParameterGroup) throws {
        try Self.require(g.learningRate.isFinite && g.learningRate >= 0, "\(name): lr must be >= 0, got \(g.learningRate)")
        try Self.require(g.weightDecay.isFinite && g.weightDecay >= 0, "\(name): weight_decay must be >= 0, got \(g.weightDecay)")
    }

    /// Changes group `index`'s learning rate, weight decay and momentum (beta1), checked as
    /// at construction.
    public func setParamGroup(_ index: Int, learningRate: Double, weightDecay: Double, momentum: Double) throws {
        guard paramGroups.indices.contains(index) else {
            throw SwiftTrainError.invalid("\(name): parameter group \(index) does not exist; there are \(paramGroups.count)")
        }
        var g = paramGroups[index]
        g.learningRate = learningRate
        g.weightDecay = weightDecay
        g.momentum = momentum
        try checkGroup(g)
        paramGroups[index] = g
    }

    /// Adds a parameter group (torch's add_param_group). A parameter may be in one group only.
    public func addParamGroup(_ group: ParameterGroup) throws {
        try checkGroup(group)
        let existing = Set(paramGroups.flatMap(\.parameters).map(ObjectIdentifier.init))
        for p in group.parameters {
            guard !existing.contains(ObjectIdentifier(p)) else {
                throw SwiftTrainError.invalid("add_param_group: a parameter of shape \(p.shape) is already in another group")
            }
            guard p.dtype == .float32 else { throw SwiftTrainError.invalid("add_param_group: parameters must be float32, got \(p.dtype)") }
        }
        paramGroups.append(group)
        states.append(group.parameters.map { _ in ParameterState(slots: stateNames.count) })
    }

    static func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
        if !ok { throw SwiftTrainError.invalid(message()) }
    }

    /// One optimizer step over every parameter that has a gradient.
    public func step() {
        for (gi, group) in paramGroups.enumerated() {
            for (pi, p) in group.parameters.enumerated() {
                guard let grad = p.gradStorage else { continue }
                let state = states[gi][pi]
                state.step += 1
                for slot in 0..<state.buffers.count where state.buffers[slot] == nil && usesSlot(slot, group) {
                    state.buffers[slot] = Storage(zeros: p.count)
                    state.fresh[slot] = true
                    initialize(slot: slot, state.buffers[slot]!.base, p.count, grad.base)
                }
                update(p.data, grad.base, p.count, state, group)
                for slot in 0..<state.fresh.count { state.fresh[slot] = false }
            }
        }
    }

    /// Whether state buffer `slot` is used with these hyper-parameters (SGD's momentum
    /// buffer only with momentum, ...). Unused buffers are never allocated nor saved.
    func usesSlot(_ slot: Int, _ group: ParameterGroup) -> Bool { true }

    /// Fills a new state buffer (zeros unless overridden).
    func initialize(slot: Int, _ buffer: UnsafeMutablePointer<Float>, _ n: Int, _ grad: UnsafeMutablePointer<Float>) {}

    /// Updates one parameter `p` (n floats) from its gradient `g` (which it may modify).
    func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int, _ state: ParameterState,
                _ group: ParameterGroup) {
        fatalError("subclasses implement update")
    }

    /// Drops every parameter's gradient.
    public func zeroGrad() {
        for group in paramGroups { for p in group.parameters { p.zeroGrad() } }
    }

    /// The state by parameter index (counting across groups in order) and PyTorch's names:
    /// "step" and the buffers. Tensors are copies.
    public func stateDict() -> [Int: [String: Tensor]] {
        var out: [Int: [String: Tensor]] = [:]
        var index = 0
        for (gi, group) in paramGroups.enumerated() {
            for (pi, p) in group.parameters.enumerated() {
                defer { index += 1 }
                let s = states[gi][pi]
                guard s.step > 0, savesStep || s.buffers.contains(where: { $0 != nil }) else { continue }
                var entry: [String: Tensor] = savesStep ? ["step": try! Tensor.full([], Float(s.step))] : [:]
                for (slot, name) in stateNames.enumerated() {
                    guard let b = s.buffers[slot] else { continue }
                    let t = Tensor(uninitialized: p.shape)
                    t.data.update(from: b.base, count: p.count)
                    entry[name] = t
                }
                out[index] = entry
            }
        }
        return out
    }

    /// Restores state saved by `stateDict()` (same parameters in the same order and shapes).
    public func loadStateDict(_ state: [Int: [String: Tensor]]) throws {
        let flat = paramGroups.enumerated().flatMap { gi, g in g.parameters.indices.map { (gi, $0) } }
        for (index, entry) in state {
            guard index >= 0, index < flat.count else {
                throw SwiftTrainError.invalid("optimizer load_state_dict: state for parameter \(index), but there are \(flat.count)")
            }
            let (gi, pi) = flat[index]
            let p = paramGroups[gi].parameters[pi], s = states[gi][pi]
            let implicitStep = savesStep ? nil : try Tensor.full([], entry.isEmpty ? 0 : 1)
            guard let step = entry["step"] ?? implicitStep else {
                throw SwiftTrainError.invalid("optimizer load_state_dict: parameter \(index) has no 'step'")
            }
            let stepValue = try step.item()
            guard stepValue.isFinite, stepValue >= 0, stepValue < 1e15 else {
                throw SwiftTrainError.invalid("optimizer load_state_dict: parameter \(index) has step \(stepValue)")
            }
            s.step = Int(stepValue)
            for (slot, name) in stateNames.enumerated() {
                guard let t = entry[name] else { s.buffers[slot] = nil; continue }
                guard t.count == p.count, t.dtype == .float32 else {
                    throw SwiftTrainError.shape("optimizer load_state_dict: \(name) of parameter \(index) has shape \(t.shape), the parameter \(p.shape)")
                }
                let b = Storage(count: p.count)
                b.base.update(from: t.data, count: p.count)
                s.buffers[slot] = b
            }
        }
    }
}

// MARK: - Checkpoints

extension Optimizer {
    /// The state for a checkpoint: JSON with the type, the groups' hyper-parameters and every
    /// parameter's exact step count (PyTorch's state_dict layout, "params" as indices across
    /// groups), and the buffers as tensors named "state.<index>.<buffer>" (PyTorch's names).
    func checkpoint() -> (json: JSONValue, tensors: [(name: String, tensor: Tensor)]) {
        var groups: [JSONValue] = [], steps: [(String, JSONValue)] = [], tensors: [(name: String, tensor: Tensor)] = []
        var index = 0
        for (gi, group) in paramGroups.enumerated() {
            var params: [JSONValue] = []
            for (pi, p) in group.parameters.enumerated() {
                defer { index += 1 }
                params.append(.int(index))
                let s = states[gi][pi]
                guard s.step > 0 else { continue }
                steps.append((String(index), .object([("step", .int(s.step))])))
                for (slot, name) in stateNames.enumerated() {
                    guard let b = s.buffers[slot] else { continue }
                    let t = Tensor(uninitialized: p.shape)
                    t.data.update(from: b.base, count: p.count)
                    tensors.append(("state.\(index).\(name)", t))
                }
            }
            groups.append(.object([
                ("lr", .double(group.learningRate)), ("initial_lr", .double(group.initialLearningRate)),
                ("weight_decay", .double(group.weightDecay)), ("momentum", .double(group.momentum)),
                ("params", .array(params)),
            ]))
        }
        return (.object([("type", .string(name)), ("param_groups", .array(groups)), ("state", .object(steps))]), tensors)
    }

    /// Restores what `checkpoint()` saved into an optimizer of the same kind over the same
    /// parameters. Everything is checked before anything changes.
    func restore(json: JSONValue, tensors: SafetensorsFile) throws {
        func bad(_ what: String) -> SwiftTrainError { SwiftTrainError(.corrupt, "optimizer state: \(what)") }
        guard json["type"]?.stringValue == name else {
            throw SwiftTrainError.invalid("the checkpoint's optimizer is \(json["type"]?.stringValue ?? "unknown"), this run's is \(name); "
                + "resume with the same optim")
        }
        guard let groups = json["param_groups"]?.arrayValue, groups.count == paramGroups.count else {
            throw SwiftTrainError.invalid("the checkpoint's optimizer has \(json["param_groups"]?.arrayValue?.count ?? 0) parameter groups, "
                + "this run's \(paramGroups.count): the model differs")
        }
        var newGroups = paramGroups
        for (gi, g) in groups.enumerated() {
            guard let lr = g["lr"]?.doubleValue, let wd = g["weight_decay"]?.doubleValue, let m = g["momentum"]?.doubleValue,
                  g["params"]?.arrayValue?.count == paramGroups[gi].parameters.count else {
                throw bad("parameter group \(gi) is incomplete or has a different number of parameters")
            }
            newGroups[gi].learningRate = lr
            newGroups[gi].weightDecay = wd
            newGroups[gi].momentum = m
            try checkGroup(newGroups[gi])
        }
        let flat = paramGroups.enumerated().flatMap { gi, g in g.parameters.indices.map { (gi, $0) } }
        let newStates = paramGroups.map { $0.parameters.map { _ in ParameterState(slots: stateNames.count) } }
        guard let saved = json["state"]?.objectValue else { throw bad("no 'state'") }
        for (key, entry) in saved {
            guard let index = Int(key), flat.indices.contains(index), let step = entry["step"]?.intValue, step > 0, step <= 1 << 50 else {
                throw bad("entry '\(key)' names no parameter or has no valid step")
            }
            let (gi, pi) = flat[index]
            let p = paramGroups[gi].parameters[pi], s = newStates[gi][pi]
            s.step = step
            for (slot, name) in stateNames.enumerated() {
                guard let e = tensors.entry("state.\(index).\(name)") else { continue }
                let t = try tensors.tensor(e)
                guard t.dtype == .float32, t.shape == p.shape else {
                    throw SwiftTrainError.shape("optimizer state \(name) of parameter \(index) has shape \(t.shape), the parameter \(p.shape)")
                }
                let b = Storage(count: p.count)
                b.base.update(from: t.data, count: p.count)
                s.buffers[slot] = b
            }
        }
        paramGroups = newGroups
        states = newStates
    }
}
