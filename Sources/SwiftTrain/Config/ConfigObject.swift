/// One JSON object of a config, read key by key with its key path ("model.layers[2]"), so
/// every error says where it is and what is accepted. `finish()` refuses keys nobody read.
public struct ConfigObject {
    public let path: String
    private let entries: [(String, JSONValue)]
    private var used: Set<String> = []

    public init(_ value: JSONValue, path: String) throws {
        guard let entries = value.objectValue else {
            throw ConfigObject.error(path, "expected an object ({...}), got \(ConfigObject.kind(value))")
        }
        self.entries = entries
        self.path = path
    }

    /// The key's path below this object: "trainer.learning_rate", or "learning_rate" at the top.
    public func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public var keys: [String] { entries.map(\.0) }

    /// The value of `key`, marked as read; nil when absent (or null).
    public mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let v = entries.last(where: { $0.0 == key })?.1, !v.isNull else { return nil }
        return v
    }

    public mutating func required(_ key: String) throws -> JSONValue {
        guard let v = value(key) else { throw Self.error(path(key), "is required") }
        return v
    }

    public mutating func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
        guard let v = value(key) else {
            guard let fallback else { throw Self.error(path(key), "is required (an integer)") }
            return fallback
        }
        guard let i = v.intValue, v.doubleValue.map({ $0 == $0.rounded() }) ?? false else {
            throw Self.error(path(key), "expected an integer, got \(Self.kind(v))")
        }
        return i
    }

    public mutating func double(_ key: String, _ fallback: Double) throws -> Double {
        guard let v = value(key) else { return fallback }
        guard let d = v.doubleValue else { throw Self.error(path(key), "expected a number, got \(Self.kind(v))") }
        return d
    }

    public mutating func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let v = value(key) else { return fallback }
        guard let b = v.boolValue else { throw Self.error(path(key), "expected true or false, got \(Self.kind(v))") }
        return b
    }

    public mutating func string(_ key: String, _ fallback: String? = nil) throws -> String {
        guard let v = value(key) else {
            guard let fallback else { throw Self.error(path(key), "is required (a string)") }
            return fallback
        }
        guard let s = v.stringValue else { throw Self.error(path(key), "expected a string, got \(Self.kind(v))") }
        return s
    }

    /// An integer or a pair of integers ([h, w]), as torch's kernel_size and stride.
    public mutating func pair(_ key: String, _ fallback: (Int, Int)? = nil) throws -> (Int, Int) {
        guard let v = value(key) else {
            guard let fallback else { throw Self.error(path(key), "is required (an integer or [h, w])") }
            return fallback
        }
        if let i = v.intValue, v.doubleValue == Double(i) { return (i, i) }
        if let a = v.arrayValue, a.count == 2, let h = a[0].intValue, let w = a[1].intValue { return (h, w) }
        throw Self.error(path(key), "expected an integer or [h, w], got \(Self.kind(v))")
    }

    public mutating func array(_ key: String) throws -> [JSONValue] {
        let v = try required(key)
        guard let a = v.arrayValue else { throw Self.error(path(key), "expected a list ([...]), got \(Self.kind(v))") }
        return a
    }

    /// The object without its "type", every key marked as read: the arguments of a type a host
    /// registered (C, Python), whose factory checks them itself.
    public mutating func arguments() -> JSONValue {
        for key in keys { _ = value(key) }
        return .object(entries.filter { $0.0 != "type" })
    }

    /// Refuses the keys no one read, listing the ones `accepted` (the reader's).
    public func finish(accepted: [String]) throws {
        for key in keys where !used.contains(key) {
            throw Self.error(path(key), "unknown key; accepted here: \(accepted.joined(separator: ", "))")
        }
    }

    /// "model.layers[1].out_features: expected an integer, got a string (\"ten\")".
    public static func error(_ path: String, _ message: String) -> SwiftTrainError {
        SwiftTrainError.invalid("config: \(path.isEmpty ? "(top level)" : path): \(message)")
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case let .bool(b): "\(b)"
        case .int, .double: "a number (\(v.serialized()))"
        case let .string(s): "a string (\"\(s)\")"
        case .array: "a list"
        case .object: "an object"
        }
    }
}
