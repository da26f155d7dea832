import PublicHeader
import SwiftTrain
import PlatformShims

/// An st_batch: the named tensors a forward, a loss or a data provider sees. Writable only
/// for a data provider filling it.
final class BatchBox {
    var batch: Batch
    let writable: Bool
    /// C copies of the names handed out by st_batch_entry.
    fileprivate var cNames: [UnsafeMutablePointer<CChar>?] = []
    init(_ batch: Batch, writable: Bool) {
        self.batch = batch
        self.writable = writable
    }
    deinit { for p in cNames { p?.deallocate() } }
}

/// An st_outputs: what a custom forward sets.
final class OutputsBox {
    var entries: [(String, Tensor)] = []
    /// C copies of the names handed out by st_outputs_entry.
    var cNames: [String: UnsafeMutablePointer<CChar>] = [:]
    deinit { for p in cNames.values { p.deallocate() } }
    var output: ModelOutput? { entries.isEmpty ? nil : try? ModelOutput(entries) }
    init() {}
    init(_ output: ModelOutput) { entries = Array(zip(output.names, output.tensors)) }
}

/// Runs a host's function with handles for the batch (and outputs) it is given, and turns a
/// non-zero return into an error naming `what`, with the message of the failing st_* call
/// the host made, if any.
func callHost(_ what: String, _ body: () -> Int32) throws {
    stx_set_last_error("")
    let rc = body()
    guard rc != 0 else { return }
    let detail = String(cString: stx_last_error())
    throw SwiftTrainError(.callbackAborted, "\(what) returned \(rc)" + (detail.isEmpty ? "" : ": \(detail)"))
}

/// Lends `box` to C as a handle during `body`.
func lend<T>(_ box: AnyObject, _ body: (OpaquePointer) throws -> T) rethrows -> T {
    let handle = Handle.make(box)
    defer { Handle.release(handle) }
    return try body(handle)
}

/// Calls `free(user_data)` when the object holding it goes.
final class UserData {
    let pointer: UnsafeMutableRawPointer?
    let free: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    init(_ pointer: UnsafeMutableRawPointer?, free: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
        self.pointer = pointer
        self.free = free
    }
    deinit { free?(pointer) }
}

private func batchBox(_ handle: OpaquePointer?, _ fn: String) throws -> BatchBox {
    try Handle.get(handle, as: BatchBox.self, fn, "batch")
}

private func name(_ pointer: UnsafePointer<CChar>?, _ fn: String) throws -> String {
    String(cString: try required(pointer, fn, "name"))
}

@c @implementation
public func st_batch_count(_ batch: OpaquePointer?) -> Int {
    (try? batchBox(batch, "st_batch_count").batch.count) ?? 0
}

@c @implementation
public func st_batch_entry(_ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ outTensor: UnsafeMutablePointer<OpaquePointer?>?,
                           _ handle: OpaquePointer?, _ index: Int) -> st_status {
    status {
        let fn = "st_batch_entry"
        outTensor?.pointee = nil
        let box = try batchBox(handle, fn)
        let nameOut = try required(outName, fn, "out_name")
        guard index >= 0, index < box.batch.count else {
            throw SwiftTrainError(.invalidArgument, "\(fn): index \(index) is out of range; the batch has \(box.batch.count) entries")
        }
        nameOut.pointee = box.cName(index)
        try Handle.output(outTensor, fn) { box.batch.tensors[index] }
    }
}

extension BatchBox {
    /// The entry's name as C text that lives as long as the box.
    func cName(_ index: Int) -> UnsafePointer<CChar> {
        while cNames.count < batch.count { cNames.append(nil) }
        if let p = cNames[index] { return UnsafePointer(p) }
        let p = strdupSwift(batch.names[index])
        cNames[index] = p
        return UnsafePointer(p)
    }
}

/// A malloc'd copy of `s` (freed by the owner).
func strdupSwift(_ s: String) -> UnsafeMutablePointer<CChar> {
    let utf8 = Array(s.utf8CString)
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
    p.initialize(from: utf8, count: utf8.count)
    return p
}

@c @implementation
public func st_batch_get(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_batch_get"
        out?.pointee = nil
        guard out != nil else { throw nullArgument(fn, "out") }
        let box = try batchBox(handle, fn)
        let n = try name(key, fn)
        guard let t = box.batch[n] else {
            throw SwiftTrainError(.notFound, "\(fn): the batch has no '\(n)'; it has \(box.batch.summary)")
        }
        try Handle.output(out, fn) { t }
    }
}

@c @implementation
public func st_batch_size(_ out: UnsafeMutablePointer<Int64>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_batch_size"
        try required(out, fn, "out").pointee = Int64(try batchBox(handle, fn).batch.size)
    }
}

@c @implementation
public func st_batch_num_items(_ out: UnsafeMutablePointer<Int64>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_batch_num_items"
        try required(out, fn, "out").pointee = Int64(try batchBox(handle, fn).batch.numItemsInBatch)
    }
}

private func add(_ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ fn: String, _ make: () throws -> Tensor) -> st_status {
    status {
        let box = try batchBox(handle, fn)
        guard box.writable else {
            throw SwiftTrainError(.misuse, "\(fn): this batch is read-only; only a data provider's batch can be filled")
        }
        let n = try name(key, fn)
        try box.batch.add(n, try make())
    }
}

@c @implementation
public func st_batch_add(_ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?,
                         _ shape: UnsafePointer<Int64>?, _ ndim: Int, _ dtype: st_dtype) -> st_status {
    let fn = "st_batch_add"
    return add(handle, key, fn) {
        let dims = try shapeArgument(shape, ndim, fn)
        let type = try dtypeArgument(dtype, fn)
        guard dims.reduce(1, *) == 0 || data != nil else { throw nullArgument(fn, "data") }
        return try Tensor(copying: data ?? UnsafeRawPointer(bitPattern: 8)!, shape: dims, dtype: type)
    }
}

@c @implementation
public func st_batch_add_tensor(_ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ t: OpaquePointer?) -> st_status {
    let fn = "st_batch_add_tensor"
    return add(handle, key, fn) { try tensor(t, fn, "tensor") }
}

@c @implementation
public func st_outputs_set(_ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_outputs_set"
        let box = try Handle.get(handle, as: OutputsBox.self, fn, "outputs")
        let n = try name(key, fn)
        guard !n.isEmpty else { throw SwiftTrainError(.invalidArgument, "\(fn): name is empty") }
        let value = try tensor(t, fn, "tensor")
        if let i = box.entries.firstIndex(where: { $0.0 == n }) { box.entries[i].1 = value } else { box.entries.append((n, value)) }
    }
}

@c @implementation
public func st_outputs_get(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_outputs_get"
        out?.pointee = nil
        guard out != nil else { throw nullArgument(fn, "out") }
        let box = try Handle.get(handle, as: OutputsBox.self, fn, "outputs")
        let n = try name(key, fn)
        let found = n == "logits" ? box.output?.logits : box.entries.first { $0.0 == n }?.1
        guard let found else {
            throw SwiftTrainError(.notFound, "\(fn): no output '\(n)'; "
                + (box.entries.isEmpty ? "no output is set yet" : "the outputs are \(box.entries.map(\.0).joined(separator: ", "))"))
        }
        try Handle.output(out, fn) { found }
    }
}

@c @implementation
public func st_outputs_count(_ handle: OpaquePointer?) -> Int {
    (try? Handle.get(handle, as: OutputsBox.self, "st_outputs_count", "outputs").entries.count) ?? 0
}

@c @implementation
public func st_outputs_entry(_ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ outTensor: UnsafeMutablePointer<OpaquePointer?>?,
                             _ handle: OpaquePointer?, _ index: Int) -> st_status {
    status {
        let fn = "st_outputs_entry"
        outTensor?.pointee = nil
        let box = try Handle.get(handle, as: OutputsBox.self, fn, "outputs")
        let nameOut = try required(outName, fn, "out_name")
        guard index >= 0, index < box.entries.count else {
            throw SwiftTrainError(.invalidArgument, "\(fn): index \(index) is out of range; there are \(box.entries.count) outputs")
        }
        let name = box.entries[index].0
        let c = box.cNames[name] ?? strdupSwift(name)
        box.cNames[name] = c
        nameOut.pointee = UnsafePointer(c)
        try Handle.output(outTensor, fn) { box.entries[index].1 }
    }
}
