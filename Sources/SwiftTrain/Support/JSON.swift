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
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d > 0 ? "Infinity" : "-Infinity" } else { out += "\(d)" }
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

extension TrainerState {
    /// This state as HF's trainer_state.json (TrainerState.save_to_json): every field of HF's
    /// dataclass, keys sorted, two-space indent, a final newline.
    /// `statefulCallbacks` fills HF's "stateful_callbacks" (name to {"args", "attributes"}).
    public func hfJSON(statefulCallbacks: [(String, JSONValue)] = []) -> String {
        func optional(_ d: Double?) -> JSONValue { d.map { .double($0) } ?? .null }
        let history = logHistory.map { entry in
            JSONValue.object(entry.map { name, value in
                (name, name == "step" && value.rounded() == value && Swift.abs(value) < 9e15 ? .int(Int(value)) : .double(value))
            })
        }
        let fields: [(String, JSONValue)] = [
            ("best_global_step", bestGlobalStep.map { .int($0) } ?? .null),
            ("best_metric", optional(bestMetric)),
            ("best_model_checkpoint", bestModelCheckpoint.map { .string($0) } ?? .null),
            ("epoch", .double(epoch)),
            ("eval_steps", .int(evalSteps)),
            ("global_step", .int(globalStep)),
            ("is_hyper_param_search", .bool(false)),
            ("is_local_process_zero", .bool(isLocalProcessZero)),
            ("is_world_process_zero", .bool(isWorldProcessZero)),
            ("log_history", .array(history)),
            ("logging_steps", .int(loggingSteps)),
            ("max_steps", .int(maxSteps)),
            ("num_input_tokens_seen", .int(0)),
            ("num_train_epochs", .int(numTrainEpochs)),
            ("save_steps", .int(saveSteps)),
            ("stateful_callbacks", .object(statefulCallbacks)),
            ("total_flos", .double(totalFlos)),
            ("train_batch_size", .int(trainBatchSize)),
            ("trial_name", .null),
            ("trial_params", .null),
        ]
        return JSONValue.object(fields).serialized() + "\n"
    }
}

extension TrainerState {
    /// Takes the run's progress from a trainer_state.json (HF's layout): epoch, global_step,
    /// log_history, total_flos and the best-model fields. The intervals are left as they
    /// are: they belong to the run that reads it.
    mutating func restore(fromHF json: JSONValue, source: String) throws {
        func bad(_ what: String) -> SwiftTrainError { SwiftTrainError(.corrupt, "\(source): \(what)") }
        guard let epoch = json["epoch"]?.doubleValue, epoch.isFinite, epoch >= 0,
              let step = json["global_step"]?.intValue, step >= 0,
              let history = json["log_history"]?.arrayValue, let flos = json["total_flos"]?.doubleValue else {
            throw bad("epoch, global_step, log_history or total_flos is missing or invalid")
        }
        var entries: [Metrics] = []
        for item in history {
            guard let fields = item.objectValue else { throw bad("a log_history entry is not an object") }
            var m = Metrics()
            for (name, value) in fields {
                guard let v = value.doubleValue, name != "step" || (v.isFinite && v >= 0 && v.rounded() == v) else {
                    throw bad("log_history value '\(name)' is not a number (or, for step, not a whole number)")
                }
                m[name] = v
            }
            entries.append(m)
        }
        func optional<T>(_ key: String, _ get: (JSONValue) -> T?) throws -> T? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let t = get(v) else { throw bad("\(key) is invalid") }
            return t
        }
        bestMetric = try optional("best_metric") { $0.doubleValue }
        bestGlobalStep = try optional("best_global_step") { $0.intValue }
        bestModelCheckpoint = try optional("best_model_checkpoint") { $0.stringValue }
        self.epoch = epoch
        globalStep = step
        logHistory = entries
        totalFlos = flos
    }
}
