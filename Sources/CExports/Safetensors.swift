import PublicHeader
import Glibc
import SwiftTrain

/// An st_safetensors handle: a checked file and C strings for its names, dtypes and metadata.
final class SafetensorsBox {
    let file: SafetensorsFile
    let names: [UnsafeMutablePointer<CChar>]
    let dtypes: [UnsafeMutablePointer<CChar>]
    let shapes: [UnsafeMutablePointer<Int64>]
    let metadata: [(UnsafeMutablePointer<CChar>, UnsafeMutablePointer<CChar>)]

    init(_ file: SafetensorsFile) {
        self.file = file
        names = file.entries.map { strdup($0.name)! }
        dtypes = file.entries.map { strdup($0.dtype)! }
        shapes = file.entries.map { e in
            let p = UnsafeMutablePointer<Int64>.allocate(capacity: max(e.shape.count, 1))
            for (i, d) in e.shape.enumerated() { p[i] = Int64(d) }
            return p
        }
        metadata = file.metadata.map { (strdup($0.0)!, strdup($0.1)!) }
    }

    deinit {
        for p in names + dtypes { free(p) }
        for p in shapes { p.deallocate() }
        for (k, v) in metadata { free(k); free(v) }
    }
}

private func safetensors(_ handle: OpaquePointer?, _ fn: String) throws -> SafetensorsBox {
    try Handle.get(handle, as: SafetensorsBox.self, fn, "file")
}

@c @implementation
public func st_safetensors_open(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ path: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_safetensors_open"
        out?.pointee = nil
        let p = String(cString: try required(path, fn, "path"))
        try Handle.output(out, fn) { SafetensorsBox(try SafetensorsFile(contentsOf: p)) }
    }
}

@c @implementation
public func st_safetensors_open_memory(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ data: UnsafeRawPointer?, _ size: Int) -> st_status {
    status {
        let fn = "st_safetensors_open_memory"
        out?.pointee = nil
        guard size >= 0 else { throw SwiftTrainError(.invalidArgument, "\(fn): size \(size) is too large") }
        let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: try required(data, fn, "data"), count: size))
        try Handle.output(out, fn) { SafetensorsBox(try SafetensorsFile(bytes: bytes, source: "(memory)")) }
    }
}

@c @implementation
public func st_safetensors_count(_ handle: OpaquePointer?) -> Int {
    (try? safetensors(handle, ""))?.file.entries.count ?? 0
}

@c @implementation
public func st_safetensors_metadata_count(_ handle: OpaquePointer?) -> Int {
    (try? safetensors(handle, ""))?.metadata.count ?? 0
}

@c @implementation
public func st_safetensors_entry_at(_ out: UnsafeMutablePointer<st_safetensors_entry>?, _ handle: OpaquePointer?, _ index: Int) -> st_status {
    status {
        let fn = "st_safetensors_entry_at"
        let box = try safetensors(handle, fn)
        let result = try required(out, fn, "out")
        guard index >= 0, index < box.file.entries.count else {
            throw SwiftTrainError(.invalidArgument, "\(fn): index \(index) is out of range; the file has \(box.file.entries.count) tensors")
        }
        let e = box.file.entries[index]
        result.pointee = st_safetensors_entry(
            name: box.names[index], dtype: box.dtypes[index],
            shape: box.shapes[index],
            ndim: e.shape.count,
            // The box's immutable array keeps its storage (never copied nor moved) until close.
            data: box.file.bytes.withUnsafeBytes { $0.baseAddress! + e.offset },
            nbytes: e.byteCount)
    }
}

@c @implementation
public func st_safetensors_metadata_at(_ key: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ value: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                       _ handle: OpaquePointer?, _ index: Int) -> st_status {
    status {
        let fn = "st_safetensors_metadata_at"
        let box = try safetensors(handle, fn)
        let k = try required(key, fn, "key"), v = try required(value, fn, "value")
        guard index >= 0, index < box.metadata.count else {
            throw SwiftTrainError(.invalidArgument, "\(fn): index \(index) is out of range; the file has \(box.metadata.count) metadata pairs")
        }
        k.pointee = UnsafePointer(box.metadata[index].0)
        v.pointee = UnsafePointer(box.metadata[index].1)
    }
}

@c @implementation
public func st_safetensors_tensors(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_safetensors_tensors"
        out?.pointee = nil
        let box = try safetensors(handle, fn)
        let tensors = try box.file.tensors()
        try Handle.output(out, fn) { NamedTensorsBox(tensors) }
    }
}

@c @implementation
public func st_safetensors_free(_ handle: OpaquePointer?) {
    Handle.release(handle)
}

/// The file's bytes for C entries and metadata pairs.
private func serialized(_ entries: UnsafePointer<st_safetensors_entry>?, _ count: Int, _ metadata: UnsafePointer<UnsafePointer<CChar>?>?,
                        _ metadataCount: Int, _ fn: String) throws -> [UInt8] {
    guard count >= 0, metadataCount >= 0, count < 1 << 24, metadataCount < 1 << 20 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): count \(count) or metadata_count \(metadataCount) is too large")
    }
    var items: [Safetensors.Item] = []
    for i in 0..<count {
        let e = try required(entries, fn, "entries")[i]
        let name = String(cString: try required(e.name, fn, "entries[\(i)].name"))
        let dtype = String(cString: try required(e.dtype, fn, "entries[\(i)].dtype"))
        guard e.ndim >= 0, e.ndim <= 64 else { throw SwiftTrainError(.invalidArgument, "\(fn): entries[\(i)].ndim \(e.ndim) is more than 64") }
        let shape = e.ndim == 0 ? [] : Array(UnsafeBufferPointer(start: try required(e.shape, fn, "entries[\(i)].shape"), count: e.ndim)).map { Int($0) }
        guard e.nbytes >= 0 else { throw SwiftTrainError(.invalidArgument, "\(fn): entries[\(i)].nbytes is too large") }
        guard e.nbytes == 0 || e.data != nil else { throw nullArgument(fn, "entries[\(i)].data") }
        items.append(Safetensors.Item(name: name, dtype: dtype, shape: shape, data: UnsafeRawBufferPointer(start: e.data, count: e.nbytes)))
    }
    var pairs: [(String, String)] = []
    for i in 0..<metadataCount {
        let m = try required(metadata, fn, "metadata")
        let k = String(cString: try required(m[2 * i], fn, "metadata[\(2 * i)]"))
        let v = String(cString: try required(m[2 * i + 1], fn, "metadata[\(2 * i + 1)]"))
        pairs.append((k, v))
    }
    return try Safetensors.serialize(items, metadata: pairs)
}

@c @implementation
public func st_safetensors_serialize(_ buffer: UnsafeMutableRawPointer?, _ capacity: Int, _ length: UnsafeMutablePointer<Int>?,
                                     _ entries: UnsafePointer<st_safetensors_entry>?, _ count: Int,
                                     _ metadata: UnsafePointer<UnsafePointer<CChar>?>?, _ metadataCount: Int) -> st_status {
    status {
        let fn = "st_safetensors_serialize"
        try giveText(try serialized(entries, count, metadata, metadataCount, fn), buffer, capacity, length, fn, nul: false)
    }
}

@c @implementation
public func st_safetensors_save(_ path: UnsafePointer<CChar>?, _ entries: UnsafePointer<st_safetensors_entry>?, _ count: Int,
                                _ metadata: UnsafePointer<UnsafePointer<CChar>?>?, _ metadataCount: Int) -> st_status {
    status {
        let fn = "st_safetensors_save"
        let p = String(cString: try required(path, fn, "path"))
        try Safetensors.writeFile(try serialized(entries, count, metadata, metadataCount, fn), to: p)
    }
}
