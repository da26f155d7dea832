import PublicHeader
import SwiftTrain
import PlatformShims

/// Runs `body`, turning a thrown error into a status code and this thread's last error
/// message. Every fallible entry point goes through here, so no error escapes as a trap.
@inline(__always)
func status(_ body: () throws -> Void) -> st_status {
    do {
        try body()
        return ST_OK
    } catch let error as SwiftTrainError {
        return fail(st_status(rawValue: error.code.rawValue), error.message)
    } catch {
        return fail(ST_ERROR, "\(error)")
    }
}

/// Records `message` as this thread's last error and returns `code`.
func fail(_ code: st_status, _ message: String) -> st_status {
    stx_set_last_error(message)
    return code
}

/// An `.invalidArgument` error for a NULL pointer argument.
func nullArgument(_ function: String, _ argument: String) -> SwiftTrainError {
    SwiftTrainError(.invalidArgument, "\(function): \(argument) is NULL")
}

/// The value behind a required pointer argument.
func required<T>(_ pointer: T?, _ function: String, _ argument: String) throws -> T {
    guard let pointer else { throw nullArgument(function, argument) }
    return pointer
}

/// A pointer to static NUL-terminated text.
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@c @implementation
public func st_status_string(_ status: Int32) -> UnsafePointer<CChar>? {
    switch status {
    case ST_OK.rawValue: cString("ST_OK: success")
    case ST_ERROR.rawValue: cString("ST_ERROR: internal error")
    case ST_EINVAL.rawValue: cString("ST_EINVAL: invalid argument")
    case ST_ESHAPE.rawValue: cString("ST_ESHAPE: sizes or shapes do not fit")
    case ST_ENOMEM.rawValue: cString("ST_ENOMEM: out of memory")
    case ST_EMISUSE.rawValue: cString("ST_EMISUSE: call not allowed in this state")
    case ST_EUSER.rawValue: cString("ST_EUSER: a callback stopped training")
    case ST_EBLAS.rawValue: cString("ST_EBLAS: OpenBLAS could not be loaded")
    case ST_ENOTFOUND.rawValue: cString("ST_ENOTFOUND: not found")
    case ST_EIO.rawValue: cString("ST_EIO: a file could not be read or written")
    case ST_ECORRUPT.rawValue: cString("ST_ECORRUPT: a file is damaged or not in the expected format")
    default: cString("unknown status")
    }
}

@c @implementation
public func st_last_error_message() -> UnsafePointer<CChar>? {
    stx_last_error()
}
