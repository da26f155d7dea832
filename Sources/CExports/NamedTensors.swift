import PublicHeader
import SwiftTrain
import Glibc

/// An st_named_tensors handle: (name, tensor) pairs with the names as C strings it owns.
final class NamedTensorsBox {
    private(set) var entries: [(name: UnsafeMutablePointer<CChar>, tensor: Tensor)] = []

    init(_ pairs: [(name: String, tensor: Tensor)] = []) {
        for (name, tensor) in pairs { append(name, tensor) }
    }

    deinit { for e in entries { free(e.name) } }

    func append(_ name: String, _ tensor: Tensor) { entries.append((strdup(name)!, tensor)) }

    var dictionary: [String: Tensor] {
        Dictionary(entries.map { (String(cString: $0.name), $0.tensor) }, uniquingKeysWith: { _, last in last })
    }
}

@c @implementation
public func st_named_tensors_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> st_status {
    status { try Handle.output(out, "st_named_tensors_create") { NamedTensorsBox() } }
}

@c @implementation
public func st_named_tensors_add(_ list: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_named_tensors_add"
        let box = try Handle.get(list, as: NamedTensorsBox.self, fn, "list")
        let key = String(cString: try required(name, fn, "name"))
        box.append(key, try tensor(t, fn, "tensor"))
    }
}

@c @implementation
public func st_named_tensors_count(_ list: OpaquePointer?) -> Int {
    (try? Handle.get(list, as: NamedTensorsBox.self, "", ""))?.entries.count ?? 0
}

@c @implementation
public func st_named_tensors_entry(_ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                   _ outTensor: UnsafeMutablePointer<OpaquePointer?>?, _ list: OpaquePointer?,
                                   _ index: Int) -> st_status {
    status {
        let fn = "st_named_tensors_entry"
        outTensor?.pointee = nil
        let box = try Handle.get(list, as: NamedTensorsBox.self, fn, "list")
        let name = try required(outName, fn, "out_name"), t = try required(outTensor, fn, "out_tensor")
        guard index >= 0, index < box.entries.count else {
            throw SwiftTrainError(.invalidArgument, "\(fn): index \(index) is out of range; the list has \(box.entries.count) entries")
        }
        name.pointee = UnsafePointer(box.entries[index].name)
        t.pointee = Handle.make(box.entries[index].tensor)
    }
}

@c @implementation
public func st_named_tensors_free(_ list: OpaquePointer?) {
    Handle.release(list)
}
