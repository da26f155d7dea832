import PublicHeader
import SwiftTrain

// Tensor handles: creation, queries, memory access and autograd.

func tensor(_ handle: OpaquePointer?, _ fn: String, _ argument: String) throws -> Tensor {
    try Handle.get(handle, as: Tensor.self, fn, argument)
}

/// nil for a NULL handle (an optional argument), else the tensor.
func optionalTensor(_ handle: OpaquePointer?, _ fn: String, _ argument: String) throws -> Tensor? {
    handle == nil ? nil : try tensor(handle, fn, argument)
}

/// A shape argument: `ndim` dimensions at `shape`, each >= 0, at most ST_MAX_DIMS.
func shapeArgument(_ shape: UnsafePointer<Int64>?, _ ndim: Int, _ fn: String, _ name: String = "shape",
                   allowMinusOne: Bool = false) throws -> [Int] {
    guard ndim >= 0, ndim <= Int(ST_MAX_DIMS) else {
        throw SwiftTrainError(.invalidArgument, "\(fn): \(name) has \(ndim) dimensions; at most \(ST_MAX_DIMS) are supported")
    }
    guard ndim == 0 || shape != nil else { throw nullArgument(fn, name) }
    let dims = (0..<ndim).map { Int(shape![$0]) }
    if let bad = dims.first(where: { $0 < (allowMinusOne ? -1 : 0) }) {
        throw SwiftTrainError(.invalidArgument, "\(fn): \(name) \(dims) has a negative dimension (\(bad))")
    }
    if !allowMinusOne { try Tensor.checkShape(dims, fn) }  // element count within bounds
    return dims
}

/// An int list argument that may be empty (dims of a reduction).
func intList(_ values: UnsafePointer<Int64>?, _ count: Int, _ fn: String, _ name: String) throws -> [Int] {
    guard count >= 0, count <= Int(ST_MAX_DIMS) else {
        throw SwiftTrainError(.invalidArgument, "\(fn): \(name) has \(count) entries; at most \(ST_MAX_DIMS)")
    }
    guard count == 0 || values != nil else { throw nullArgument(fn, name) }
    return (0..<count).map { Int(values![$0]) }
}

func dtypeArgument(_ dtype: st_dtype, _ fn: String) throws -> DType {
    guard let d = DType(rawValue: Int32(bitPattern: dtype.rawValue)) else {
        throw SwiftTrainError(.invalidArgument, "\(fn): unknown dtype \(Int32(bitPattern: dtype.rawValue)); use ST_FLOAT32, ST_INT64 or ST_BOOL")
    }
    return d
}

/// Stores a new tensor handle in `*out`.
func outputTensor(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: String, _ make: () throws -> Tensor) -> st_status {
    status {
        try Handle.output(out, fn) {
            let t = try make()
            guard t.rank <= Int(ST_MAX_DIMS) else {
                throw SwiftTrainError(.invalidArgument, "\(fn): the result would have \(t.rank) dimensions; at most \(ST_MAX_DIMS) are supported")
            }
            return t
        }
    }
}

/// The checked arguments of the functions that make a tensor over the caller's memory: the
/// memory (a dummy non-NULL pointer for an empty tensor), the shape and the dtype.
private func creationArguments(_ data: UnsafeRawPointer?, _ shape: UnsafePointer<Int64>?, _ ndim: Int, _ dtype: st_dtype,
                               _ fn: String) throws -> (UnsafeMutableRawPointer, [Int], DType) {
    let dims = try shapeArgument(shape, ndim, fn)
    let type = try dtypeArgument(dtype, fn)
    guard dims.reduce(1, *) == 0 || data != nil else { throw nullArgument(fn, "data") }
    return (UnsafeMutableRawPointer(mutating: data ?? UnsafeRawPointer(bitPattern: 8)!), dims, type)
}

@c @implementation
public func st_tensor_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ data: UnsafeRawPointer?,
                             _ shape: UnsafePointer<Int64>?, _ ndim: Int, _ dtype: st_dtype,
                             _ ownership: st_data_ownership) -> st_status {
    let fn = "st_tensor_create"
    return outputTensor(out, fn) {
        let (memory, dims, type) = try creationArguments(data, shape, ndim, dtype, fn)
        switch ownership {
        case ST_DATA_COPY:
            return try Tensor(copying: memory, shape: dims, dtype: type)
        case ST_DATA_BORROW:
            return try Tensor(borrowing: memory, shape: dims, dtype: type, lender: nil)
        default:
            throw SwiftTrainError(.invalidArgument, "\(fn): unknown ownership \(Int32(bitPattern: ownership.rawValue)); use ST_DATA_COPY or ST_DATA_BORROW")
        }
    }
}

@c @implementation
public func st_tensor_zeros(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int,
                            _ dtype: st_dtype) -> st_status {
    outputTensor(out, "st_tensor_zeros") {
        let dims = try shapeArgument(shape, ndim, "st_tensor_zeros")
        try Tensor.checkShape(dims)
        return Tensor.zeros(dims, dtype: try dtypeArgument(dtype, "st_tensor_zeros"))
    }
}

@c @implementation
public func st_tensor_full(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int,
                           _ value: Float) -> st_status {
    outputTensor(out, "st_tensor_full") { try Tensor.full(try shapeArgument(shape, ndim, "st_tensor_full"), value) }
}

@c @implementation
public func st_tensor_arange(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ start: Double, _ end: Double,
                             _ step: Double, _ dtype: st_dtype) -> st_status {
    outputTensor(out, "st_tensor_arange") {
        guard start.isFinite, end.isFinite, step.isFinite, step != 0 else {
            throw SwiftTrainError(.invalidArgument, "st_tensor_arange: start, end and step must be finite and step non-zero, got \(start), \(end), \(step)")
        }
        guard (end - start) / step < 1e9 else {
            throw SwiftTrainError(.invalidArgument, "st_tensor_arange: \((end - start) / step) elements are too many")
        }
        return try Tensor.arange(start, end, step: step, dtype: try dtypeArgument(dtype, "st_tensor_arange"))
    }
}

@c @implementation
public func st_tensor_uniform(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int,
                              _ low: Float, _ high: Float, _ seed: UInt64) -> st_status {
    outputTensor(out, "st_tensor_uniform") {
        var g = Generator(seed: seed)
        return try Tensor.uniform(try shapeArgument(shape, ndim, "st_tensor_uniform"), low: low, high: high, generator: &g)
    }
}

@c @implementation
public func st_tensor_normal(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int,
                             _ mean: Float, _ std: Float, _ seed: UInt64) -> st_status {
    outputTensor(out, "st_tensor_normal") {
        var g = Generator(seed: seed)
        return try Tensor.normal(try shapeArgument(shape, ndim, "st_tensor_normal"), mean: mean, std: std, generator: &g)
    }
}

@c @implementation
public func st_tensor_rand(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int,
                           _ low: Float, _ high: Float) -> st_status {
    outputTensor(out, "st_tensor_rand") {
        let dims = try shapeArgument(shape, ndim, "st_tensor_rand")
        return try DefaultGenerator.withGenerator { try Tensor.uniform(dims, low: low, high: high, generator: &$0) }
    }
}

@c @implementation
public func st_tensor_randn(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int,
                            _ mean: Float, _ std: Float) -> st_status {
    outputTensor(out, "st_tensor_randn") {
        let dims = try shapeArgument(shape, ndim, "st_tensor_randn")
        return try DefaultGenerator.withGenerator { try Tensor.normal(dims, mean: mean, std: std, generator: &$0) }
    }
}

@c @implementation
public func st_tensor_free(_ t: OpaquePointer?) {
    Handle.release(t)
}

@c @implementation
public func st_tensor_ndim(_ out: UnsafeMutablePointer<Int>?, _ t: OpaquePointer?) -> st_status {
    status {
        let x = try tensor(t, "st_tensor_ndim", "tensor")
        try required(out, "st_tensor_ndim", "out").pointee = x.rank
    }
}

@c @implementation
public func st_tensor_shape(_ out: UnsafeMutablePointer<Int64>?, _ capacity: Int, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_tensor_shape"
        let x = try tensor(t, fn, "tensor")
        guard capacity < 0 || capacity >= x.rank else {  // a size_t above Int.max is "plenty"
            throw SwiftTrainError(.shapeMismatch, "\(fn): capacity \(capacity) is smaller than the \(x.rank) dimensions")
        }
        let o = try required(out, fn, "out")
        for (i, d) in x.shape.enumerated() { o[i] = Int64(d) }
    }
}

@c @implementation
public func st_tensor_numel(_ out: UnsafeMutablePointer<Int64>?, _ t: OpaquePointer?) -> st_status {
    status {
        let x = try tensor(t, "st_tensor_numel", "tensor")
        try required(out, "st_tensor_numel", "out").pointee = Int64(x.count)
    }
}

@c @implementation
public func st_tensor_dtype(_ out: UnsafeMutablePointer<st_dtype>?, _ t: OpaquePointer?) -> st_status {
    status {
        let x = try tensor(t, "st_tensor_dtype", "tensor")
        try required(out, "st_tensor_dtype", "out").pointee = st_dtype(rawValue: UInt32(x.dtype.rawValue))
    }
}

@c @implementation
public func st_tensor_copy_to(_ out: UnsafeMutableRawPointer?, _ outBytes: Int, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_tensor_copy_to"
        let x = try tensor(t, fn, "tensor")
        let bytes = x.count * x.dtype.size
        guard outBytes == bytes else {
            throw SwiftTrainError(.shapeMismatch, "\(fn): out_bytes is \(outBytes) but the tensor (\(x.dtype) \(x.shape)) holds \(bytes) bytes")
        }
        guard bytes > 0 else { return }
        let o = try required(out, fn, "out")
        x.withUnsafeMutableRawBytes { o.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
    }
}

@c @implementation
public func st_tensor_data(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ t: OpaquePointer?) -> st_status {
    status {
        let x = try tensor(t, "st_tensor_data", "tensor")
        try required(out, "st_tensor_data", "out").pointee = x.withUnsafeMutableRawBytes { $0.baseAddress }
    }
}

@c @implementation
public func st_tensor_item(_ out: UnsafeMutablePointer<Double>?, _ t: OpaquePointer?) -> st_status {
    status {
        let x = try tensor(t, "st_tensor_item", "tensor")
        let o = try required(out, "st_tensor_item", "out")
        guard x.count == 1 else {
            throw SwiftTrainError(.shapeMismatch, "st_tensor_item: the tensor has \(x.count) elements (shape \(x.shape)), not one")
        }
        o.pointee = x.dtype == .int64 ? Double(x.int64Values[0]) : Double(try x.item())
    }
}

@c @implementation
public func st_tensor_set_requires_grad(_ t: OpaquePointer?, _ requiresGrad: Bool) -> st_status {
    status {
        let fn = "st_tensor_set_requires_grad"
        let x = try tensor(t, fn, "tensor")
        guard x.dtype == .float32 || !requiresGrad else {
            throw SwiftTrainError(.invalidArgument, "\(fn): only float32 tensors can require gradients, this one is \(x.dtype)")
        }
        guard x.isLeaf || requiresGrad else {
            throw SwiftTrainError(.misuse, "\(fn): requires_grad can only be cleared on a leaf tensor; use st_tensor_detach")
        }
        x.requiresGrad = requiresGrad
    }
}

@c @implementation
public func st_tensor_requires_grad(_ out: UnsafeMutablePointer<Bool>?, _ t: OpaquePointer?) -> st_status {
    status {
        let x = try tensor(t, "st_tensor_requires_grad", "tensor")
        try required(out, "st_tensor_requires_grad", "out").pointee = x.requiresGrad
    }
}

@c @implementation
public func st_tensor_grad(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ t: OpaquePointer?) -> st_status {
    status {
        let o = try required(out, "st_tensor_grad", "out")
        o.pointee = nil
        o.pointee = try tensor(t, "st_tensor_grad", "tensor").grad.map { Handle.make($0) }
    }
}

@c @implementation
public func st_tensor_zero_grad(_ t: OpaquePointer?) -> st_status {
    status { try tensor(t, "st_tensor_zero_grad", "tensor").zeroGrad() }
}

@c @implementation
public func st_tensor_backward(_ t: OpaquePointer?, _ gradient: OpaquePointer?) -> st_status {
    backward(t, gradient, retainGraph: false, "st_tensor_backward")
}

@c @implementation
public func st_tensor_backward_retain(_ t: OpaquePointer?, _ gradient: OpaquePointer?, _ retainGraph: Bool) -> st_status {
    backward(t, gradient, retainGraph: retainGraph, "st_tensor_backward_retain")
}

private func backward(_ t: OpaquePointer?, _ gradient: OpaquePointer?, retainGraph: Bool, _ fn: String) -> st_status {
    status {
        let x = try tensor(t, fn, "tensor")
        if let g = try optionalTensor(gradient, fn, "gradient") {
            try x.backward(gradient: g, retainGraph: retainGraph)
        } else {
            try x.backward(retainGraph: retainGraph)
        }
    }
}

@c @implementation
public func st_tensor_check_writable(_ t: OpaquePointer?) -> st_status {
    status { try tensor(t, "st_tensor_check_writable", "tensor").checkWritable() }
}

@c @implementation
public func st_tensor_to(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ t: OpaquePointer?, _ dtype: st_dtype) -> st_status {
    outputTensor(out, "st_tensor_to") { try tensor(t, "st_tensor_to", "tensor").to(try dtypeArgument(dtype, "st_tensor_to")) }
}

@c @implementation
public func st_tensor_detach(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ t: OpaquePointer?) -> st_status {
    outputTensor(out, "st_tensor_detach") { try tensor(t, "st_tensor_detach", "tensor").detach() }
}

@c @implementation
public func st_is_grad_enabled() -> Bool {
    isGradEnabled
}

@c @implementation
public func st_set_grad_enabled(_ enabled: Bool) -> Bool {
    let previous = isGradEnabled
    isGradEnabled = enabled
    return previous
}

/// The host's memory under a lent tensor: `release(user_data)` once the last storage that
/// reads it goes (the tensor, its views, graph nodes that kept it).
private final class HostMemory {
    let release: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let userData: UnsafeMutableRawPointer?
    init(_ release: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void, _ userData: UnsafeMutableRawPointer?) {
        self.release = release
        self.userData = userData
    }
    deinit { release(userData) }
}

@c @implementation
public func st_tensor_create_lent(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ data: UnsafeMutableRawPointer?,
                                  _ shape: UnsafePointer<Int64>?, _ ndim: Int, _ dtype: st_dtype,
                                  _ release: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                                  _ userData: UnsafeMutableRawPointer?) -> st_status {
    let fn = "st_tensor_create_lent"
    guard let release else {
        out?.pointee = nil
        return fail(ST_EINVAL, "\(fn): release is NULL (use st_tensor_create with ST_DATA_BORROW for memory you free yourself)")
    }
    let owner = HostMemory(release, userData)  // from here on, release runs exactly once
    return outputTensor(out, fn) {
        let (memory, dims, type) = try creationArguments(data, shape, ndim, dtype, fn)
        return try Tensor(borrowing: memory, shape: dims, dtype: type, lender: owner)
    }
}
