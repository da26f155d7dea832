import SwiftTrain

/// Opaque C handles are retained Swift objects: create functions hand out +1 references,
/// free functions release them, and objects that use others hold their own references.
enum Handle {
    static func make(_ object: AnyObject) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(object).toOpaque())
    }

    static func release(_ handle: OpaquePointer?) {
        guard let handle else { return }
        Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(handle)).release()
    }

    /// The object behind `handle`, checked to be a `T`.
    static func get<T>(_ handle: OpaquePointer?, as type: T.Type, _ function: String, _ argument: String) throws -> T {
        guard let handle else { throw nullArgument(function, argument) }
        let object = Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        guard let typed = object as? T else {
            throw SwiftTrainError(.invalidArgument, "\(function): \(argument) is not a \(type) handle")
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
}
