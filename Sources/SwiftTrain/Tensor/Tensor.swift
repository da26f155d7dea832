import _CSupport

/// A float32 tensor with reverse-mode automatic differentiation.
///
/// Storage is contiguous and row-major. A tensor produced by an operation on tensors that
/// require gradients records that operation (`op`), so `backward()` on a scalar result
/// fills `grad` of every leaf that requires gradients. Gradients accumulate until
/// `zeroGrad()`.
public final class Tensor {
    /// The size of each dimension, outermost first.
    public let shape: [Int]
    /// The number of elements.
    public let count: Int
    let storage: Storage
    /// Whether gradients flow to this tensor. Parameters set it; results inherit it.
    public var requiresGrad: Bool
    var gradStorage: Storage?
    /// How this tensor was computed; nil for leaves and once backward has run.
    var op: Op?

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false, op: Op? = nil) {
        self.shape = shape
        self.count = storage.count
        self.storage = storage
        self.requiresGrad = requiresGrad
        self.op = op
    }

    /// Uninitialised tensor of the given shape.
    convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)))
    }

    /// A tensor with the given shape and values (row-major).
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw SwiftTrainError.shape("tensor shape \(shape) has a negative dimension")
        }
        let n = shape.reduce(1, *)
        guard n == values.count else {
            throw SwiftTrainError.shape("tensor shape \(shape) needs \(n) values, got \(values.count)")
        }
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { storage.base.update(from: $0.baseAddress!, count: n) }
        self.requiresGrad = requiresGrad
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, storage: Storage(zeros: shape.reduce(1, *)))
        t.requiresGrad = requiresGrad
        return t
    }

    /// The values, row-major.
    public var values: [Float] { Array(storage.buffer) }

    /// The single value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else {
            throw SwiftTrainError.shape("item() needs a tensor with one element, got shape \(shape)")
        }
        return storage.base[0]
    }

    /// The accumulated gradient, or nil if none has been computed since `zeroGrad()`.
    /// It shares memory with the tensor's gradient buffer.
    public var grad: Tensor? {
        gradStorage.map { Tensor(shape: shape, storage: $0) }
    }

    /// Drops the gradient (like PyTorch's `zero_grad(set_to_none=True)`); its memory goes
    /// back to the pool and is reused by the next backward pass.
    public func zeroGrad() { gradStorage = nil }

    /// Lends the values for reading and writing. Do not let the pointer escape.
    public func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try body(storage.buffer)
    }
}

/// Runs `body` without recording operations for autograd (like `torch.no_grad()`).
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = stx_grad_enabled()
    stx_set_grad_enabled(0)
    defer { stx_set_grad_enabled(previous) }
    return try body()
}

/// Whether a result computed from `inputs` must record its operation.
@inline(__always)
func recordsGraph(_ a: Tensor, _ b: Tensor? = nil, _ c: Tensor? = nil) -> Bool {
    (a.requiresGrad || b?.requiresGrad == true || c?.requiresGrad == true) && stx_grad_enabled() != 0
}
