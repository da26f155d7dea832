import SwiftTrain
import Synchronization

/// Opaque C handles. A handle is a number registered in a table that maps it to a retained
/// Swift object: create functions register, free functions unregister, and objects that use
/// others hold their own references. Numbers are never reused, so a handle used after it was
/// freed is recognised and reported (ST_EMISUSE) instead of crashing the host.
enum Handle {
    private struct Entry: @unchecked Sendable {
        let strong: AnyObject?
        weak var weak: AnyObject?  // (a handle that does not keep its object: makeWeak)
        init(object: AnyObject) { strong = object }
        init(weak object: AnyObject) { (strong, weak) = (nil, object) }
        var object: AnyObject? { strong ?? weak }
    }
    private struct Table: ~Copyable {
        var objects: [UInt: Entry] = [:]
        var last: UInt = 0x1000
    }
    private static let table = Mutex(Table())

    static func make(_ object: AnyObject) -> OpaquePointer {
        let id = table.withLock { t -> UInt in
            t.last += 16
            t.objects[t.last] = Entry(object: object)
            return t.last
        }
        return OpaquePointer(bitPattern: id)!
    }

    /// A handle to `object` that does not keep it alive (for an object the library owns and
    /// lends to a host's code, such as a trainer the command line built): once the object is
    /// gone the handle is reported as not live. Entries of objects gone are dropped here.
    static func makeWeak(_ object: AnyObject) -> OpaquePointer {
        let id = table.withLock { t -> UInt in
            for (key, entry) in t.objects where entry.strong == nil && entry.weak == nil { t.objects[key] = nil }
            t.last += 16
            t.objects[t.last] = Entry(weak: object)
            return t.last
        }
        return OpaquePointer(bitPattern: id)!
    }

    /// A live handle to `object` (the first made), or nil.
    static func existing(_ object: AnyObject) -> OpaquePointer? {
        table.withLock { t in
            t.objects.filter { $0.value.object === object }.keys.min().map { OpaquePointer(bitPattern: $0)! }
        }
    }

    static func release(_ handle: OpaquePointer?) {
        guard let handle else { return }
        // The object is released after the lock is dropped: its deinit may free others.
        let removed = table.withLock { $0.objects.removeValue(forKey: UInt(bitPattern: handle)) }
        withExtendedLifetime(removed) {}
    }

    /// The object behind `handle`, checked to be a `T`.
    static func get<T>(_ handle: OpaquePointer?, as type: T.Type, _ function: String, _ argument: String) throws -> T {
        guard let handle else { throw nullArgument(function, argument) }
        guard let entry = table.withLock({ $0.objects[UInt(bitPattern: handle)]?.object }) else {
            throw SwiftTrainError(.misuse, "\(function): \(argument) is not a live swifttrain handle (already freed, or never created)")
        }
        guard let typed = entry as? T else {
            throw SwiftTrainError(.invalidArgument, "\(function): \(argument) is not a \(typeName(T.self)) handle")
        }
        return typed
    }

    /// Stores a new handle in `*out` (which must not be NULL).
    static func output(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ function: String,
                       _ make: () throws -> AnyObject) throws {
        guard let out else { throw nullArgument(function, "out") }
        out.pointee = nil
        out.pointee = Handle.make(try make())
    }

    private static func typeName<T>(_ type: T.Type) -> String {
        switch type {
        case is Tensor.Type: "st_tensor"
        case is Dataset.Type: "st_dataset"
        case is Trainer.Type: "st_trainer"
        case is MetricsBox.Type: "st_metrics"
        case is NamedTensorsBox.Type: "st_named_tensors"
        case is Optimizer.Type: "st_optim"
        case is ScheduleBox.Type: "st_lr_schedule"
        case is PlateauBox.Type: "st_plateau"
        case is SafetensorsBox.Type: "st_safetensors"
        case is BatchBox.Type: "st_batch"
        case is OutputsBox.Type: "st_outputs"
        case is (any DataSource).Type: "st_dataset"
        default: "st_module"
        }
    }
}
