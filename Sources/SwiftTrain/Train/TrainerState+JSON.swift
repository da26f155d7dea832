// HF's trainer_state.json: writing and reading the trainer state.
extension TrainerState {
    /// This state as HF's trainer_state.json (TrainerState.save_to_json): every field of HF's
    /// dataclass, keys sorted, two-space indent, a final newline.
    /// `statefulCallbacks` fills HF's "stateful_callbacks" (name to {"args", "attributes"}).
    public func hfJSON(statefulCallbacks: [(String, JSONValue)] = []) -> String {
        JSONValue.object(hfFields(statefulCallbacks: statefulCallbacks)).serialized() + "\n"
    }

    /// The text of a state given as a JSON object of HF's TrainerState fields (what another
    /// face, e.g. Python's TrainerState, holds), in the layout of `hfJSON`: each field it
    /// names replaces that of a state before training; a name that is not one of HF's fields
    /// is an error. `TrainerState.hfJSON(formatting: .object([]))` names every field.
    public static func hfJSON(formatting given: JSONValue) throws -> String {
        guard let object = given.objectValue else {
            throw SwiftTrainError.invalid("a trainer state must be a JSON object of HF's TrainerState fields")
        }
        var fields = TrainerState().hfFields()
        var unknown: [String] = []
        for (name, value) in object {
            if let i = fields.firstIndex(where: { $0.0 == name }) { fields[i].1 = value } else { unknown.append(name) }
        }
        guard unknown.isEmpty else {
            throw SwiftTrainError.invalid("not fields of HF's TrainerState: \(unknown.sorted().joined(separator: ", "))")
        }
        return JSONValue.object(fields).serialized() + "\n"
    }

    /// Every field of HF's TrainerState dataclass with this state's value, by name.
    func hfFields(statefulCallbacks: [(String, JSONValue)] = []) -> [(String, JSONValue)] {
        func optional(_ d: Double?) -> JSONValue { d.map { .double($0) } ?? .null }
        let history = logHistory.map { entry in
            JSONValue.object(entry.map { name, value in
                (name, name == "step" && value.rounded() == value && Swift.abs(value) < 9e15 ? .int(Int(value)) : .double(value))
            })
        }
        return [
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
