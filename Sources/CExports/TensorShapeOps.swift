import PublicHeader
import SwiftTrain

// Shape operations on tensor handles.

@c @implementation
public func st_reshape(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ shape: UnsafePointer<Int64>?,
                       _ ndim: Int) -> st_status {
    unaryOp(out, a, "st_reshape") { try $0.reshape(try shapeArgument(shape, ndim, "st_reshape", allowMinusOne: true)) }
}

@c @implementation
public func st_flatten(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ startDim: Int64, _ endDim: Int64) -> st_status {
    unaryOp(out, a, "st_flatten") { try $0.flatten(startDim: Int(startDim), endDim: Int(endDim)) }
}

@c @implementation
public func st_squeeze(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64) -> st_status {
    unaryOp(out, a, "st_squeeze") { try $0.squeeze(dim: optionalIndex(dim)) }
}

@c @implementation
public func st_unsqueeze(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64) -> st_status {
    unaryOp(out, a, "st_unsqueeze") { try $0.unsqueeze(dim: Int(dim)) }
}

@c @implementation
public func st_transpose(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim0: Int64, _ dim1: Int64) -> st_status {
    unaryOp(out, a, "st_transpose") { try $0.transpose(Int(dim0), Int(dim1)) }
}

@c @implementation
public func st_permute(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dims: UnsafePointer<Int64>?,
                       _ ndims: Int) -> st_status {
    unaryOp(out, a, "st_permute") { try $0.permute(try intList(dims, ndims, "st_permute", "dims")) }
}

@c @implementation
public func st_expand(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ shape: UnsafePointer<Int64>?,
                      _ ndim: Int) -> st_status {
    unaryOp(out, a, "st_expand") { try $0.expand(try shapeArgument(shape, ndim, "st_expand", allowMinusOne: true)) }
}

/// The tensors of a C array argument.
func tensorList(_ tensors: UnsafePointer<OpaquePointer?>?, _ count: Int, _ fn: String) throws -> [Tensor] {
    guard count > 0, count <= 1 << 20 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): count must be between 1 and 2^20, got \(count)")
    }
    let list = try required(tensors, fn, "tensors")
    return try (0..<count).map { try tensor(list[$0], fn, "tensors[\($0)]") }
}

@c @implementation
public func st_cat(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ tensors: UnsafePointer<OpaquePointer?>?, _ count: Int,
                   _ dim: Int64) -> st_status {
    outputTensor(out, "st_cat") { try cat(try tensorList(tensors, count, "st_cat"), dim: Int(dim)) }
}

@c @implementation
public func st_stack(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ tensors: UnsafePointer<OpaquePointer?>?, _ count: Int,
                     _ dim: Int64) -> st_status {
    outputTensor(out, "st_stack") { try stack(try tensorList(tensors, count, "st_stack"), dim: Int(dim)) }
}

@c @implementation
public func st_slice(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64, _ start: Int64,
                     _ end: Int64, _ step: Int64) -> st_status {
    unaryOp(out, a, "st_slice") {
        let clip = { (v: Int64) in Int(Swift.max(Swift.min(v, Int64(Int32.max)), Int64(Int32.min))) }
        return try $0.slice(dim: Int(dim), start: clip(start), end: clip(end), step: clip(step))
    }
}

@c @implementation
public func st_select(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64, _ index: Int64) -> st_status {
    unaryOp(out, a, "st_select") { try $0.select(dim: Int(dim), index: Int(index)) }
}

/// Writes split pieces into `outs`.
private func pieces(_ outs: UnsafeMutablePointer<OpaquePointer?>?, _ capacity: Int, _ outCount: UnsafeMutablePointer<Int>?,
                    _ fn: String, _ make: () throws -> [Tensor]) -> st_status {
    status {
        let list = try required(outs, fn, "outs"), n = try required(outCount, fn, "out_count")
        let parts = try make()
        n.pointee = parts.count
        guard capacity < 0 || parts.count <= capacity else {  // a size_t above Int.max is "plenty"
            throw SwiftTrainError(.shapeMismatch, "\(fn): \(parts.count) pieces do not fit capacity \(capacity)")
        }
        for (i, p) in parts.enumerated() { list[i] = Handle.make(p) }
    }
}

@c @implementation
public func st_split(_ outs: UnsafeMutablePointer<OpaquePointer?>?, _ capacity: Int, _ outCount: UnsafeMutablePointer<Int>?,
                     _ a: OpaquePointer?, _ size: Int64, _ dim: Int64) -> st_status {
    pieces(outs, capacity, outCount, "st_split") { try tensor(a, "st_split", "a").split(size: Int(size), dim: Int(dim)) }
}

@c @implementation
public func st_chunk(_ outs: UnsafeMutablePointer<OpaquePointer?>?, _ capacity: Int, _ outCount: UnsafeMutablePointer<Int>?,
                     _ a: OpaquePointer?, _ chunks: Int64, _ dim: Int64) -> st_status {
    pieces(outs, capacity, outCount, "st_chunk") { try tensor(a, "st_chunk", "a").chunk(Int(chunks), dim: Int(dim)) }
}

@c @implementation
public func st_gather(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64, _ index: OpaquePointer?) -> st_status {
    outputTensor(out, "st_gather") {
        try tensor(a, "st_gather", "a").gather(dim: Int(dim), index: try tensor(index, "st_gather", "index"))
    }
}

@c @implementation
public func st_index_select(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64,
                            _ index: OpaquePointer?) -> st_status {
    outputTensor(out, "st_index_select") {
        try tensor(a, "st_index_select", "a").indexSelect(dim: Int(dim), index: try tensor(index, "st_index_select", "index"))
    }
}
