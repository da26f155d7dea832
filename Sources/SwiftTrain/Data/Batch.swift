/// A batch of named tensors, in order: HF's dict of model inputs ("input_ids",
/// "attention_mask", "labels", ...). Every tensor has the batch as its first dimension.
///
/// The in-memory `Dataset` names its features "input" and its labels or targets "labels".
/// `labelNames` (HF's label_names, set by the trainer) says which entries are labels: the
/// others are the model's inputs.
public struct Batch {
    public private(set) var names: [String] = []
    public private(set) var tensors: [Tensor] = []
    /// The entries that are labels, not inputs (HF's label_names; default ["labels"]).
    public var labelNames: [String] = ["labels"]
    /// HF's num_items_in_batch: the number of label items (tokens not equal to -100, or
    /// samples) in the whole optimizer step this batch belongs to; 0 outside training.
    public internal(set) var numItemsInBatch = 0
    /// Set by CustomModule.forward(_:), so a module implementing neither forward is reported
    /// instead of recursing.
    var fromOneTensor = false

    public init() {}

    /// A batch of these entries; names must be distinct.
    public init(_ entries: [(String, Tensor)]) throws {
        for (name, tensor) in entries { try add(name, tensor) }
    }

    /// Appends an entry; throws when the name is taken or empty, or the tensor is a scalar.
    public mutating func add(_ name: String, _ tensor: Tensor) throws {
        guard !name.isEmpty else { throw SwiftTrainError.invalid("batch: an entry has an empty name") }
        guard !names.contains(name) else {
            throw SwiftTrainError.invalid("batch: the name '\(name)' appears twice; names must be distinct")
        }
        guard tensor.rank >= 1 else {
            throw SwiftTrainError.shape("batch: '\(name)' is a scalar; every entry needs the batch as its first dimension")
        }
        if let first = tensors.first, first.shape[0] != tensor.shape[0] {
            throw SwiftTrainError.shape("batch: '\(name)' has \(tensor.shape[0]) rows (shape \(tensor.shape)) but "
                + "'\(names[0])' has \(first.shape[0]); every entry needs the same batch size")
        }
        names.append(name)
        tensors.append(tensor)
    }

    /// Replaces the entry `name` (or appends it, as `add` does); the tensor must keep the
    /// batch size of the other entries.
    public mutating func set(_ name: String, _ tensor: Tensor) throws {
        guard let i = names.firstIndex(of: name) else { return try add(name, tensor) }
        guard tensor.rank >= 1 else {
            throw SwiftTrainError.shape("batch: '\(name)' is a scalar; every entry needs the batch as its first dimension")
        }
        if let other = tensors.indices.first(where: { $0 != i }), tensors[other].shape[0] != tensor.shape[0] {
            throw SwiftTrainError.shape("batch: '\(name)' has \(tensor.shape[0]) rows (shape \(tensor.shape)) but "
                + "'\(names[other])' has \(tensors[other].shape[0]); every entry needs the same batch size")
        }
        tensors[i] = tensor
    }

    /// Adds without the checks, for batches the library builds itself.
    mutating func append(_ name: String, _ tensor: Tensor) {
        names.append(name)
        tensors.append(tensor)
    }

    public subscript(name: String) -> Tensor? {
        guard let i = names.firstIndex(of: name) else { return nil }
        return tensors[i]
    }

    /// Renames an entry (nothing happens when there is none of that name).
    mutating func rename(_ name: String, to newName: String) {
        if let i = names.firstIndex(of: name), !names.contains(newName) { names[i] = newName }
    }

    /// The number of samples (the first dimension; 0 for an empty batch).
    public var size: Int { tensors.first?.shape[0] ?? 0 }

    public var count: Int { names.count }

    /// The entries that are inputs to the model (every entry not in labelNames).
    public var inputs: [(name: String, tensor: Tensor)] {
        zip(names, tensors).filter { !labelNames.contains($0.0) }.map { ($0.0, $0.1) }
    }

    /// The labels: the first label name present, or nil.
    public var labels: Tensor? {
        for name in labelNames { if let t = self[name] { return t } }
        return nil
    }

    /// "input_ids int64 [8, 12], labels int64 [8]" for messages.
    public var summary: String {
        zip(names, tensors).map { "\($0.0) \($0.1.dtype) \($0.1.shape)" }.joined(separator: ", ")
    }

    /// Rows start..<end of every entry (views that share memory).
    func slice(_ start: Int, _ end: Int) throws -> Batch {
        var out = Batch()
        out.labelNames = labelNames
        out.numItemsInBatch = numItemsInBatch
        for (name, tensor) in zip(names, tensors) { out.append(name, try tensor.slice(dim: 0, start: start, end: end)) }
        return out
    }

    /// This batch cut into pieces of at most `maxSize` samples.
    func split(maxSize: Int) throws -> [Batch] {
        guard size > maxSize else { return [self] }
        return try stride(from: 0, to: size, by: maxSize).map { try slice($0, Swift.min($0 + maxSize, size)) }
    }
}

/// What a model's forward returns: one tensor (the logits), or named tensors of which one
/// may be "loss" (HF's ModelOutput / AllenNLP's output dict). When the model returns a loss
/// the trainer minimises it; otherwise the trainer applies its loss to the logits.
public struct ModelOutput {
    public private(set) var names: [String] = []
    public private(set) var tensors: [Tensor] = []

    /// The logits alone.
    public init(_ logits: Tensor) {
        names = ["logits"]
        tensors = [logits]
    }

    /// Named outputs; names must be distinct.
    public init(_ entries: [(String, Tensor)]) throws {
        for (name, tensor) in entries {
            guard !name.isEmpty, !names.contains(name) else {
                throw SwiftTrainError.invalid("model output: the name '\(name)' is empty or appears twice")
            }
            names.append(name)
            tensors.append(tensor)
        }
        guard !names.isEmpty else { throw SwiftTrainError.invalid("model output: the model returned no tensors") }
    }

    public subscript(name: String) -> Tensor? {
        guard let i = names.firstIndex(of: name) else { return nil }
        return tensors[i]
    }

    /// The output named "loss".
    public var loss: Tensor? { self["loss"] }

    /// As HF: the output named "logits", else the first output that is not the loss.
    public var logits: Tensor? {
        if let l = self["logits"] { return l }
        return zip(names, tensors).first { $0.0 != "loss" }?.1
    }
}
