/// The HF fields without a property of their own (`ArgumentField.isKept`): each is kept as the
/// JSON value it was given, so training_args.json round-trips, and a refused one is accepted only
/// at HF's default. Also how `set` names an unknown argument ("did you mean ...?").
extension TrainingArguments {
    /// The value of a kept field: the one set, or HF's default.
    public func kept(_ name: String) -> JSONValue {
        keptFields[name] ?? Self.fieldsByName[name]?.defaultValue ?? .null
    }

    /// The values HF allows for a kept text field (HF's enums), for training_args.json to load in HF.
    static let keptChoices: [String: [String]] = [
        "log_level": logLevels, "log_level_replica": logLevels,
        "hub_strategy": ["end", "every_save", "checkpoint", "all_checkpoints"],
        "include_num_input_tokens_seen": ["no", "all", "non_padding"],
    ]
    /// HF's log levels (`log_level`), "passive" leaving the logger as it is.
    public static let logLevels = ["detail", "debug", "info", "warning", "error", "critical", "passive"]

    /// Sets a kept field from text; throws naming the field on a value of the wrong type, and
    /// for a refused field on any value but HF's default.
    mutating func setKept(_ field: ArgumentField, _ text: String) throws {
        var value = try field.parse(text)
        if field.name == "include_num_input_tokens_seen", let flag = try? Self.bool(field.name, text) {
            value = .string(flag ? "all" : "no")  // HF's bool spelling
        }
        if field.category == .refused && value != field.defaultValue {
            throw SwiftTrainError.invalid("\(field.name)=\(text): \(field.note)")
        }
        if case let .string(s) = value, let allowed = Self.keptChoices[field.name], !allowed.contains(s) {
            throw SwiftTrainError.invalid("\(field.name): unknown value '\(s)'; choose one of: \(allowed.joined(separator: ", "))")
        }
        let resolved = Self.resolvedDefaults[field.name].map { $0 == value } ?? false
        keptFields[field.name] = value == field.defaultValue || resolved ? nil : value
    }

    /// Values that mean the default (HF resolves the default None to them when made).
    static let resolvedDefaults: [String: JSONValue] = ["disable_tqdm": .bool(false)]

    /// A list of names from "a,b" or a JSON list of strings.
    static func stringList(_ name: String, _ text: String) throws -> [String] {
        guard text.trimmingSpaces.hasPrefix("[") else {
            return text.split(separator: ",", omittingEmptySubsequences: false).map { String(String($0).trimmingSpaces) }
        }
        guard let items = (try? JSONValue.parse(text))?.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
            throw SwiftTrainError.invalid("\(name): '\(text)' is not a JSON list of strings")
        }
        return items.compactMap(\.stringValue)
    }

    /// An option string ("key=value,...") from itself, from a JSON object (as training_args.json
    /// holds it), or "" from "None".
    static func optionsText(_ name: String, _ text: String) throws -> String {
        if text == "None" { return "" }
        guard text.trimmingSpaces.hasPrefix("{") else { return text }
        guard let entries = (try? JSONValue.parse(text))?.objectValue else {
            throw SwiftTrainError.invalid("\(name): '\(text)' is not a JSON object")
        }
        return try entries.map { key, value in
            switch value {
            case let .string(s): return "\(key)=\(s)"
            case let .bool(b): return "\(key)=\(b)"
            case .int, .double: return "\(key)=\(value.serialized())"
            case .null: return "\(key)=None"
            default: throw SwiftTrainError.invalid("\(name): \(key) must be a number, a bool or a string")
            }
        }.joined(separator: ",")
    }

    /// An option string as a JSON object (numbers and bools typed, as HF's dicts hold them), or
    /// null when empty.
    static func optionsJSON(_ text: String) -> JSONValue {
        guard !text.isEmpty else { return .null }
        return .object(text.split(separator: ",").map { item in
            let parts = item.split(separator: "=", maxSplits: 1).map { String(String($0).trimmingSpaces) }
            let value = parts.count > 1 ? parts[1] : ""
            if let i = Int(value) { return (parts[0], .int(i)) }
            if let d = Double(value) { return (parts[0], .double(d)) }
            switch value.lowercased() {
            case "true": return (parts[0], .bool(true))
            case "false": return (parts[0], .bool(false))
            case "none": return (parts[0], .null)
            default: return (parts[0], .string(value))
            }
        })
    }

    /// The error for a name that is no argument: the nearest known name when one is close.
    static func unknownArgument(_ name: String) -> SwiftTrainError {
        let names = fields.map(\.name) + fieldAliases.keys.sorted()
        let scored = names.map { ($0, editDistance(name.lowercased(), $0)) }
        if let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= Swift.max(2, name.count / 3) {
            return .invalid("unknown training argument '\(name)'; did you mean '\(best.0)'?")
        }
        return .invalid("unknown training argument '\(name)': not a field of HF's TrainingArguments nor a swifttrain "
            + "addition (docs/training-arguments.md lists them)")
    }

    /// Levenshtein distance: insertions, deletions and substitutions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                previous = row[j]
                row[j] = Swift.min(substitution, row[j] + 1, row[j - 1] + 1)
            }
        }
        return row[b.count]
    }
}

extension ArgumentField {
    /// A value of this field from its text ("None" for null when optional).
    func parse(_ text: String) throws -> JSONValue {
        if optional && text == "None" { return .null }
        switch kind {
        case .bool: return .bool(try TrainingArguments.bool(name, text))
        case .int: return .int(try TrainingArguments.int(name, text))
        case .float, .number: return .double(try TrainingArguments.double(name, text))
        case .str: return .string(text)
        case .list: return .array(text.isEmpty ? [] : try TrainingArguments.stringList(name, text).map { .string($0) })
        case .dict:  // a JSON object, or (as HF) the path of a JSON file
            guard text.trimmingSpaces.hasPrefix("{") else { return .string(text) }
            guard let object = try? JSONValue.parse(text), object.objectValue != nil else {
                throw SwiftTrainError.invalid("\(name): '\(text)' is not a JSON object")
            }
            return object
        }
    }
}
