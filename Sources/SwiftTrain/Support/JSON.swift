/// A JSON value and its text as Python's `json.dumps(value, indent=2, sort_keys=True)`
/// writes it (HF's trainer_state.json layout): NaN and infinities as Python spells them,
/// non-ASCII escaped. Enough JSON for state files without Foundation.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    /// The text, keys sorted, nested levels indented by `indent` spaces.
    public func serialized(indent: Int = 2) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: Int, level: Int) {
        let pad = String(repeating: " ", count: indent * (level + 1)), end = String(repeating: " ", count: indent * level)
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if d.isNaN {
                out += "NaN"
            } else if d.isInfinite {
                out += d > 0 ? "Infinity" : "-Infinity"
            } else if Swift.abs(d) >= 0x1p53 && Swift.abs(d) < 1e16 {
                // Python writes these whole numbers positionally (Swift: 9.5e+15); its shortest
                // digits padded with zeros are the integer itself, as the spacing here is 2
                out += String(Int(d)) + ".0"
            } else {
                out += "\(d)"
            }
        case let .string(s): JSONValue.quote(s, into: &out)
        case let .array(items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.write(into: &out, indent: indent, level: level + 1)
                out += i < items.count - 1 ? ",\n" : "\n"
            }
            out += end + "]"
        case let .object(fields):
            guard !fields.isEmpty else { out += "{}"; return }
            out += "{\n"
            let sorted = fields.sorted { Array($0.0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.0.unicodeScalars.map(\.value)) }
            for (i, (key, value)) in sorted.enumerated() {
                out += pad
                JSONValue.quote(key, into: &out)
                out += ": "
                value.write(into: &out, indent: indent, level: level + 1)
                out += i < sorted.count - 1 ? ",\n" : "\n"
            }
            out += end + "}"
        }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        out += "\""
    }
}
