/// An error from swifttrain: a machine-readable code and a message that says what was wrong
/// and what to do. Codes map one to one onto the C API's `st_status` values.
public struct SwiftTrainError: Error, CustomStringConvertible, Equatable {
    public enum Code: Int32, Sendable {
        /// An internal error.
        case failure = -1
        /// An argument is invalid (a nonsense hyper-parameter, an unknown name, ...).
        case invalidArgument = -2
        /// Sizes or shapes do not fit together.
        case shapeMismatch = -3
        /// Memory could not be allocated.
        case outOfMemory = -4
        /// The call is not allowed in the object's current state.
        case misuse = -5
        /// A callback asked to abort training.
        case callbackAborted = -6
        /// OpenBLAS could not be loaded.
        case blasUnavailable = -7
        /// A named item does not exist.
        case notFound = -8
        /// A file could not be opened, read or written.
        case io = -9
        /// A file's contents are damaged or not in the expected format (a truncated
        /// checkpoint, a checksum mismatch, a malformed safetensors header).
        case corrupt = -10
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> SwiftTrainError { .init(.invalidArgument, message) }
    static func shape(_ message: String) -> SwiftTrainError { .init(.shapeMismatch, message) }
    static func misuse(_ message: String) -> SwiftTrainError { .init(.misuse, message) }
}
