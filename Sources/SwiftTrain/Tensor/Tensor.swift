import PlatformShims

/// A tensor: a contiguous, row-major array of float32, int64 or bool values with a shape,
/// and for float32 reverse-mode automatic differentiation.
///
/// A tensor computed from tensors that require gradients records how (`gradFn`), so
/// `backward()` on a scalar result adds to `grad` of every leaf that requires gradients.
/// Gradients accumulate until `zeroGrad()`. Storage is always contiguous: reshaping and
/// slices that are one contiguous block share memory (views); other shape operations copy,
/// and such a copy refuses writes (`checkWritable`) where PyTorch's view would write through.
public final class Tensor {
    /// The size of each dimension, outermost first. [] for a scalar.
    public let shape: [Int]
    /// The number of elements.
    public let count: Int
    public let dtype: DType
    let storage: Storage
    /// Whether gradients flow to this tensor (float32 only). Parameters set it; results of
    /// operations on such tensors inherit it.
    public var requiresGrad: Bool {
        didSet { if dtype != .float32 { requiresGrad = false } }
    }
    var gradStorage: Storage?
    /// How this tensor was computed; nil for leaves and once backward has run.
    var gradFn: GradNode?
    /// Set on an intermediate result once a backward pass went through it and released its
    /// graph: backpropagating through it again is an error (as in PyTorch).
    var graphReleased = false

    /// Dropping the last reference to a long graph would release it recursively, one stack
    /// frame per node (a chain of 200,000 operations overflows the stack); the graph goes to a
    /// per-thread queue instead and is released in a loop.
    deinit {
        guard gradFn != nil else { return }
        GraphRelease.take(&gradFn)
    }

    init(shape: [Int], dtype: DType = .float32, storage: Storage) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.dtype = dtype
        self.storage = storage
        self.requiresGrad = false
    }

    /// Uninitialised tensor of the given shape.
    convenience init(uninitialized shape: [Int], dtype: DType = .float32) {
        self.init(shape: shape, dtype: dtype, storage: Storage(count: shape.reduce(1, *), dtype: dtype))
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    var data: UnsafeMutablePointer<Float> { storage.base }
    var int64Data: UnsafeMutablePointer<Int64> { storage.int64s }
    var boolData: UnsafeMutablePointer<Bool> { storage.bools }

    // MARK: - Creation

    /// The most elements a tensor may have (2^32): larger ones are refused before anything
    /// is allocated. Empty dimensions do not lift the limit for the others.
    public static let maxElements = 1 << 32

    public static func checkShape(_ shape: [Int], _ what: String = "tensor") throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw SwiftTrainError.invalid("\(what): shape \(shape) has a negative dimension")
        }
        var n = 1
        for d in shape {
            let (m, overflow) = n.multipliedReportingOverflow(by: Swift.max(d, 1))
            guard !overflow, m <= maxElements else {
                throw SwiftTrainError.shape("\(what): shape \(shape) is too large (more than 2^32 elements)")
            }
            n = m
        }
    }

    /// A float32 tensor with the given shape and values (row-major).
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) throws {
        try Self.checkShape(shape)
        let n = shape.reduce(1, *)
        guard n == values.count else {
            throw SwiftTrainError.shape("tensor: shape \(shape) needs \(n) values, got \(values.count)")
        }
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
        self.requiresGrad = requiresGrad
    }

    /// An int64 tensor with the given shape and values.
    public convenience init(shape: [Int], int64Values values: [Int64]) throws {
        try Self.checkShape(shape)
        let n = shape.reduce(1, *)
        guard n == values.count else {
            throw SwiftTrainError.shape("tensor: shape \(shape) needs \(n) values, got \(values.count)")
        }
        self.init(uninitialized: shape, dtype: .int64)
        values.withUnsafeBufferPointer { int64Data.update(from: $0.baseAddress!, count: n) }
    }

    /// A bool tensor with the given shape and values.
    public convenience init(shape: [Int], boolValues values: [Bool]) throws {
        try Self.checkShape(shape)
        let n = shape.reduce(1, *)
        guard n == values.count else {
            throw SwiftTrainError.shape("tensor: shape \(shape) needs \(n) values, got \(values.count)")
        }
        self.init(uninitialized: shape, dtype: .bool)
        values.withUnsafeBufferPointer { boolData.update(from: $0.baseAddress!, count: n) }
    }

    /// A tensor that copies `shape.product` elements of `dtype` from `source`.
    public convenience init(copying source: UnsafeRawPointer, shape: [Int], dtype: DType = .float32) throws {
        try Self.checkShape(shape)
        self.init(uninitialized: shape, dtype: dtype)
        storage.raw.copyMemory(from: source, byteCount: count * dtype.size)
    }

    /// A tensor that uses `memory` in place (no copy). `lender` is kept alive as long as the
    /// tensor; when it is nil the caller guarantees the memory outlives the tensor.
    public convenience init(borrowing memory: UnsafeMutableRawPointer, shape: [Int], dtype: DType = .float32,
                            lender: AnyObject?) throws {
        try Self.checkShape(shape)
        let n = shape.reduce(1, *)
        self.init(shape: shape, dtype: dtype,
                  storage: Storage(lent: memory, byteCount: n * dtype.size, lender: lender))
    }

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) throws -> Tensor {
        try checkShape(shape, "full")
        let t = Tensor(uninitialized: shape)
        t.data.update(repeating: value, count: t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    /// Zeros of the given type.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, storage: Storage(zeros: shape.reduce(1, *), dtype: dtype))
        t.requiresGrad = requiresGrad
        return t
    }

    /// Ones (float32).
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
        try full(shape, 1, requiresGrad: requiresGrad)
    }

    /// start, start + step, ... up to but excluding end (like torch.arange), float32 or int64.
    public static func arange(_ start: Double, _ end: Double, step: Double = 1, dtype: DType = .float32) throws -> Tensor {
        guard step != 0, step.isFinite, start.isFinite, end.isFinite else {
            throw SwiftTrainError.invalid("arange: step must be finite and non-zero, got \(step)")
        }
        let span = ((end - start) / step).rounded(.up)
        guard span < Double(maxElements) else {
            throw SwiftTrainError.shape("arange: \(span) elements are more than 2^32")
        }
        let n = Swift.max(0, Int(Swift.max(span, 0)))
        guard (end - start) / step >= 0 || n == 0 else {
            throw SwiftTrainError.invalid("arange: the sign of step \(step) does not lead from \(start) to \(end)")
        }
        let t = Tensor(uninitialized: [n], dtype: dtype)
        switch dtype {
        case .float32: for i in 0..<n { t.data[i] = Float(start + Double(i) * step) }
        case .int64:
            for i in 0..<n {
                let v = (start + Double(i) * step).rounded()
                guard Swift.abs(v) < 9.2e18 else { throw SwiftTrainError.invalid("arange: \(v) does not fit int64") }
                t.int64Data[i] = Int64(v)
            }
        case .bool: throw SwiftTrainError(.invalidArgument, "arange: dtype bool is not supported")
        }
        return t
    }

    /// Uniform values in [low, high) from `generator` (the default generator when nil).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, generator: inout Generator) throws -> Tensor {
        try checkShape(shape, "uniform")
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.data[i] = generator.uniform(low, high) }
        return t
    }

    /// Normal values with the given mean and standard deviation (Box-Muller).
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, generator: inout Generator) throws -> Tensor {
        try checkShape(shape, "normal")
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.data[i] = mean + std * generator.nextNormal() }
        return t
    }

    // MARK: - Reading

    /// The float32 values, row-major (int64 and bool are converted).
    public var values: [Float] {
        switch dtype {
        case .float32: Array(UnsafeBufferPointer(start: data, count: count))
        case .int64: (0..<count).map { Float(int64Data[$0]) }
        case .bool: (0..<count).map { boolData[$0] ? 1 : 0 }
        }
    }

    /// The int64 values of an int64 tensor.
    public var int64Values: [Int64] {
        dtype == .int64 ? Array(UnsafeBufferPointer(start: int64Data, count: count)) : values.map { Int64($0) }
    }

    /// The values of a bool tensor.
    public var boolValues: [Bool] {
        dtype == .bool ? Array(UnsafeBufferPointer(start: boolData, count: count)) : values.map { $0 != 0 }
    }

    /// The single value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else {
            throw SwiftTrainError.shape("item() needs a tensor with one element, got shape \(shape)")
        }
        return values[0]
    }

    /// Lends the raw bytes. Do not let the pointer escape.
    public func withUnsafeMutableRawBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: storage.raw, count: count * dtype.size))
    }

    /// Lends the float32 values (float32 tensors only). Do not let the pointer escape.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(dtype == .float32, "withUnsafeMutableBufferPointer needs a float32 tensor")
        return try body(UnsafeMutableBufferPointer(start: data, count: count))
    }

    // MARK: - Gradients

    /// The accumulated gradient, or nil if none has been computed since `zeroGrad()`.
    /// It shares memory with the tensor's gradient buffer.
    public var grad: Tensor? {
        gradStorage.map { Tensor(shape: shape, storage: $0) }
    }

    /// Drops the gradient (like PyTorch's `zero_grad(set_to_none=True)`); its memory goes
    /// back to the pool and is reused by the next backward pass.
    public func zeroGrad() { gradStorage = nil }

    /// A tensor sharing this one's values but cut off from the graph (torch.detach).
    public func detach() -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: storage)
    }

    /// Whether this tensor was computed by an operation (false for leaves).
    public var isLeaf: Bool { gradFn == nil && !graphReleased }

    /// What this tensor is a copy of when it stands where PyTorch returns a view (a strided
    /// slice, a transpose, an expansion); nil for tensors that own their values or are views.
    public var copiedView: String? { storage.copiedView }

    /// Throws unless writing into this tensor's memory changes everything PyTorch's would:
    /// a copy standing for a view (`copiedView`) is refused, as the write would not reach the
    /// original.
    public func checkWritable(_ what: String? = nil) throws {
        guard let copied = storage.copiedView else { return }
        throw SwiftTrainError.misuse(
            (what.map { "\($0): " } ?? "") + "this tensor is a copy of \(copied), not a view (swifttrain's views are contiguous: "
                + "reshapes and slices of leading dimensions), so writing into it would not change the original as "
                + "PyTorch's view would; write into the original by index (t[:, 1] = value), or clone() this copy "
                + "to change it alone")
    }

    /// Throws unless this is a float32 tensor, naming the operation.
    func requireFloat(_ op: String) throws {
        guard dtype == .float32 else {
            throw SwiftTrainError(.invalidArgument, "\(op): expected a float32 tensor, got \(dtype)")
        }
    }
}

/// Runs `body` without recording operations for autograd (like `torch.no_grad()`).
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = stx_grad_enabled()
    stx_set_grad_enabled(0)
    defer { stx_set_grad_enabled(previous) }
    return try body()
}

/// Whether autograd records operations on this thread.
public var isGradEnabled: Bool {
    get { stx_grad_enabled() != 0 }
    set { stx_set_grad_enabled(newValue ? 1 : 0) }
}
