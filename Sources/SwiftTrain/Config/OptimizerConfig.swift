/// The optimizer and the learning-rate schedule as config objects, AllenNLP style, translated
/// onto the training arguments the trainer builds them from:
///
///     "optimizer": {"type": "adamw", "lr": 1e-3, "betas": [0.9, 0.999], "weight_decay": 0.01}
///     "learning_rate_scheduler": {"type": "cosine", "warmup_steps": 10, "num_cycles": 0.5}
///
/// optimizer: "type" is `optim` (adamw, sgd, ...), "lr" `learning_rate`, "betas" `adam_beta1` and
/// `adam_beta2`, "weight_decay", "momentum" `sgd_momentum`; any other key ("eps", "amsgrad",
/// "nesterov", ...) goes to `optim_args`. learning_rate_scheduler: "type" is `lr_scheduler_type`,
/// "warmup_steps" and "warmup_ratio" as named; other keys go to `lr_scheduler_kwargs`. Every key
/// is checked against what the optimizer or schedule reads (its name and the value's type) when
/// the config is built; a key also set in "trainer" is an error naming both paths.
enum OptimizerConfig {
    /// The training arguments (name, value text) `optimizer` and `learning_rate_scheduler` set,
    /// each with the key path it came from.
    static func arguments(optimizer: JSONValue?, scheduler: JSONValue?) throws -> [(name: String, value: String, path: String)] {
        var out: [(name: String, value: String, path: String)] = []
        if let optimizer {
            var o = try ConfigObject(optimizer, path: "optimizer")
            let type = try o.string("type")
            guard let kind = TrainingArguments.optimizerNames.first(where: { $0.0 == type })?.1 else {
                throw ConfigObject.error(o.path("type"), "unknown optimizer \"\(type)\"; known: "
                    + TrainingArguments.optimizerNames.map(\.0).joined(separator: ", "))
            }
            out.append(("optim", type, o.path("type")))
            let direct = [("lr", "learning_rate"), ("weight_decay", "weight_decay"), ("momentum", "sgd_momentum")]
            for (key, name) in direct {
                if let v = o.value(key) { out.append((name, try number(v, o.path(key)), o.path(key))) }
            }
            if let v = o.value("betas") {
                guard let pair = v.arrayValue, pair.count == 2 else {
                    throw ConfigObject.error(o.path("betas"), "expected [beta1, beta2], got \(ConfigObject.kind(v))")
                }
                out.append(("adam_beta1", try number(pair[0], o.path("betas") + "[0]"), o.path("betas") + "[0]"))
                out.append(("adam_beta2", try number(pair[1], o.path("betas") + "[1]"), o.path("betas") + "[1]"))
            }
            let extra = try options(&o, skipping: ["type"] + direct.map(\.0) + ["betas"])
            for (key, text) in extra {  // each checked alone, so an unknown one is named by its path
                let group = ParameterGroup([Tensor.zeros([1], requiresGrad: true)], learningRate: 1e-3)
                do {
                    _ = try Optimizer.make(kind, groups: [group], beta1: 0.9, beta2: 0.999, epsilon: 1e-8, sgdMomentum: 0,
                                           optimArgs: "\(key)=\(text)")
                } catch let error as SwiftTrainError where isAboutTheKey(error) {
                    throw ConfigObject.error(o.path(key), error.message)
                } catch {}  // a rule between values (nesterov needs momentum): checked when training starts
            }
            if !extra.isEmpty { out.append(("optim_args", extra.map { "\($0)=\($1)" }.joined(separator: ","), "optimizer")) }
        }
        if let scheduler {
            var o = try ConfigObject(scheduler, path: "learning_rate_scheduler")
            let type = try o.string("type")
            guard let kind = TrainingArguments.schedulerNames.first(where: { $0.0 == type })?.1 else {
                throw ConfigObject.error(o.path("type"), "unknown schedule \"\(type)\"; known: "
                    + TrainingArguments.schedulerNames.map(\.0).joined(separator: ", "))
            }
            out.append(("lr_scheduler_type", type, o.path("type")))
            for key in ["warmup_steps", "warmup_ratio"] {
                if let v = o.value(key) { out.append((key, try number(v, o.path(key)), o.path(key))) }
            }
            let extra = try options(&o, skipping: ["type", "warmup_steps", "warmup_ratio"])
            for (key, text) in extra {
                do {
                    if kind == .reduceLROnPlateau {
                        _ = try ReduceLROnPlateau.make(kwargs: "\(key)=\(text)")
                    } else {
                        _ = try LRSchedule.make(kind, warmup: 0, total: 100, kwargs: "\(key)=\(text)", initialLR: 1)
                    }
                } catch let error as SwiftTrainError where isAboutTheKey(error) {
                    throw ConfigObject.error(o.path(key), error.message)
                } catch {}  // a rule between values (nesterov needs momentum): checked when training starts
            }
            if !extra.isEmpty {
                out.append(("lr_scheduler_kwargs", extra.map { "\($0)=\($1)" }.joined(separator: ","), "learning_rate_scheduler"))
            }
        }
        return out
    }

    /// The object's other keys as option values (numbers, bools, strings without , or =).
    private static func options(_ o: inout ConfigObject, skipping: [String]) throws -> [(String, String)] {
        try o.keys.filter { !skipping.contains($0) }.map { key -> (String, String)? in
            guard let v = o.value(key) else { return nil }
            switch v {
            case let .bool(b): return (key, b ? "true" : "false")
            case .int, .double: return (key, v.serialized())
            case let .string(s) where !s.contains(",") && !s.contains("="): return (key, s)
            default: throw ConfigObject.error(o.path(key), "expected a number, a bool or a string, got \(ConfigObject.kind(v))")
            }
        }.compactMap { $0 }
    }

    /// An unknown key or a value that does not parse, as OptionList reports them (a probe of
    /// one key alone cannot judge the rules between several values).
    private static func isAboutTheKey(_ error: SwiftTrainError) -> Bool {
        ["unknown key", "is not a number", "is not true or false", "is not an integer"].contains { error.message.contains($0) }
    }

    private static func number(_ v: JSONValue, _ path: String) throws -> String {
        guard v.doubleValue != nil, !v.isNull, v.boolValue == nil else {
            throw ConfigObject.error(path, "expected a number, got \(ConfigObject.kind(v))")
        }
        return v.serialized()
    }
}
