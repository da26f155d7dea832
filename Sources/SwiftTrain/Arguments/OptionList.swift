/// "key=value,key=value" option strings (HF's optim_args; also how lr_scheduler_kwargs and
/// momentum_scheduler_kwargs travel through the C API). Keys must be known to whoever reads
/// them: `finish(_:)` reports the ones nobody asked for.
public struct OptionList: Sendable {
    private var values: [String: String] = [:]
    private var read: Set<String> = []
    let context: String

    public init(_ text: String, _ context: String) throws {
        self.context = context
        for item in text.split(separator: ",") {
            let parts = String(item).split(separator: "=", maxSplits: 1).map { String(String($0).trimmingSpaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw SwiftTrainError.invalid("\(context): '\(item)' is not key=value (expected e.g. \"num_cycles=2,power=1.5\")")
            }
            values[parts[0]] = parts[1]
        }
    }

    public var isEmpty: Bool { values.isEmpty }

    public mutating func double(_ key: String, _ fallback: Double) throws -> Double {
        read.insert(key)
        guard let text = values[key] else { return fallback }
        guard let v = Double(text) else { throw SwiftTrainError.invalid("\(context): \(key)=\(text) is not a number") }
        return v
    }

    public mutating func optionalDouble(_ key: String) throws -> Double? {
        read.insert(key)
        guard let text = values[key], text != "None" else { return nil }
        guard let v = Double(text) else { throw SwiftTrainError.invalid("\(context): \(key)=\(text) is not a number") }
        return v
    }

    public mutating func int(_ key: String, _ fallback: Int) throws -> Int {
        let v = try double(key, Double(fallback))
        guard v.isFinite, v.rounded() == v, abs(v) < 1e15 else { throw SwiftTrainError.invalid("\(context): \(key)=\(v) is not an integer") }
        return Int(v)
    }

    public mutating func optionalInt(_ key: String) throws -> Int? {
        guard let v = try optionalDouble(key) else { return nil }
        guard v.rounded() == v, abs(v) < 1e15 else { throw SwiftTrainError.invalid("\(context): \(key)=\(v) is not an integer") }
        return Int(v)
    }

    public mutating func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        read.insert(key)
        guard let text = values[key] else { return fallback }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw SwiftTrainError.invalid("\(context): \(key)=\(text) is not true or false")
        }
    }

    public mutating func string(_ key: String, _ fallback: String) -> String {
        read.insert(key)
        return values[key] ?? fallback
    }

    /// Throws when a key was given that none of the reads asked for.
    public func finish(_ known: String) throws {
        let unknown = values.keys.filter { !read.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw SwiftTrainError.invalid("\(context): unknown key(s) \(unknown.joined(separator: ", ")) for \(known); "
                + "known: \(read.sorted().joined(separator: ", "))")
        }
    }
}
