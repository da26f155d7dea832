/// A whole experiment from a config (AllenNLP's `train config -s dir`), built in dependency
/// order: the model, the data, then the trainer with its loss and arguments (the optimizer and
/// schedule follow the model and the number of steps when training starts). Top-level keys:
///
///     {
///       "model": {"type": "sequential", "layers": [{"type": "linear", "in_features": 64,
///                 "out_features": 10}]},
///       "train_data": {"type": "csv", "path": "data/digits/train.csv", "feature_scale": 0.0625},
///       "validation_data": {...},            (optional)
///       "loss": "cross_entropy",             (optional; the built-in losses' names)
///       "trainer": {"num_train_epochs": 10, "learning_rate": 0.003, ...}
///     }
///
/// "trainer" holds training arguments by their HF names (and AllenNLP's aliases the library
/// knows: "patience", "validation_metric"); a number, bool, string or list of strings each.
/// Its "disable_tqdm" (HF's name, default false) is not a training argument of the core, which
/// prints nothing unasked: it tells a front end (the command line) not to show its progress bar.
public final class Experiment {
    public static let keys = ["model", "train_data", "validation_data", "loss", "optimizer", "learning_rate_scheduler",
                              "callbacks", "trainer"]

    public let config: JSONValue
    public let model: Module
    public let trainDataset: DataSource
    public let validationDataset: DataSource?
    public let trainer: Trainer
    /// The config's trainer.disable_tqdm: the command line shows no progress bar.
    public let disableTqdm: Bool
    /// The key paths of the config's callbacks that registered a callback on the trainer
    /// (the others set training arguments), and whether one is the progress bar.
    public let registeredCallbacks: [String]
    public let hasProgressBar: Bool
    /// The training arguments the optimizer, schedule and callbacks objects set (left out of
    /// resolvedConfig's "trainer", so that it reads back the same).
    let objectArguments: Set<String>

    /// Builds everything `config` describes; `outputDir`, when given, replaces the trainer's
    /// output_dir; `callbacks` false leaves the callbacks that register on the trainer out (a
    /// finished run evaluated again). Errors name the key path.
    public init(config: JSONValue, outputDir: String? = nil, callbacks: Bool = true) throws {
        var top = try ConfigObject(config, path: "")
        model = try ConfigRegistry.layer(try top.required("model"), path: "model")
        trainDataset = try ConfigRegistry.data(try top.required("train_data"), path: "train_data")
        validationDataset = try top.value("validation_data").map { try ConfigRegistry.data($0, path: "validation_data") }
        let lossName = try top.string("loss", LossKind.crossEntropy.name)
        guard let loss = LossKind.names.first(where: { $0.0 == lossName })?.1 else {
            throw ConfigObject.error("loss", "unknown loss \"\(lossName)\"; known: \(LossKind.names.map(\.0).joined(separator: ", "))")
        }
        var settings = try OptimizerConfig.arguments(optimizer: top.value("optimizer"), scheduler: top.value("learning_rate_scheduler"))
        let callbackList = try Self.callbacks(top.value("callbacks"))
        for (path, callback, _) in callbackList { settings += callback.arguments.map { ($0.name, $0.value, path) } }
        let registering = callbackList.filter { $0.1.install != nil }
        let parsed = try Self.trainingArguments(top.value("trainer"), settings: settings)
        var args = parsed.0
        disableTqdm = parsed.disableTqdm
        (registeredCallbacks, hasProgressBar, objectArguments) = (registering.map(\.0), registering.contains { $0.2 == "progress_bar" },
                                                                  Set(settings.map(\.name)))
        installs = registering.map { ($0.0, $0.1.install!) }
        if let outputDir { args.outputDir = outputDir }
        try args.validate()
        try top.finish(accepted: Self.keys)
        trainer = try Trainer(model: model, loss: loss, args: args)
        trainer.trainDataset = trainDataset
        trainer.evalDataset = validationDataset
        self.config = config
        if callbacks { try installCallbacks() }
    }

    /// The callbacks of the config that register on the trainer, not yet installed.
    private var installs: [(path: String, install: (Trainer) throws -> Void)]

    /// Registers the config's callbacks on the trainer (once): what `callbacks: true` does, for
    /// a host that first needs the trainer (a C handle for the callbacks a C factory adds).
    public func installCallbacks() throws {
        let pending = installs
        installs = []
        try Self.install(pending, on: trainer)
    }

    /// The entries of "callbacks" with their key paths and types.
    static func callbacks(_ list: JSONValue?) throws -> [(String, ConfigCallback, String)] {
        guard let list else { return [] }
        guard let items = list.arrayValue else {
            throw ConfigObject.error("callbacks", "expected a list of callbacks ([{\"type\": ...}]), got \(ConfigObject.kind(list))")
        }
        return try items.enumerated().map { i, item in
            let path = "callbacks[\(i)]"
            return (path, try ConfigRegistry.callback(item, path: path), item.objectValue?.first { $0.0 == "type" }?.1.stringValue ?? "")
        }
    }

    private static func install(_ installs: [(path: String, install: (Trainer) throws -> Void)], on trainer: Trainer) throws {
        for (path, install) in installs {
            do { try install(trainer) } catch let error as SwiftTrainError where !error.message.hasPrefix("config:") {
                throw ConfigObject.error(path, error.message)  // (a factory's own failure, at its key path)
            }
        }
    }

    /// Registers the callbacks of the config `text` (with `overrides`) that register on a
    /// trainer on `trainer`, one built from the config's pieces (st_config_build): the
    /// training arguments callbacks set are the pieces' already.
    public static func addCallbacks(text: String, overrides: String? = nil, to trainer: Trainer) throws {
        let config = try parse(text: text, overrides: overrides)
        let list = try callbacks(config.objectValue?.last { $0.0 == "callbacks" }.flatMap { $0.1.isNull ? nil : $0.1 })
        try install(list.compactMap { entry in entry.1.install.map { (entry.0, $0) } }, on: trainer)
    }

    /// `text` (JSON) with `overrides` (a JSON object merged in key by key, as AllenNLP's -o).
    static func parse(text: String, overrides: String?) throws -> JSONValue {
        var config: JSONValue
        do { config = try JSONValue.parse(text) } catch let error as SwiftTrainError {
            throw SwiftTrainError.invalid("config: not valid JSON: \(error.message)")
        }
        if let overrides, !overrides.isEmpty {
            let patch: JSONValue
            do { patch = try JSONValue.parse(overrides) } catch let error as SwiftTrainError {
                throw SwiftTrainError.invalid("overrides: not valid JSON: \(error.message)")
            }
            config = Self.merge(config, patch)
        }
        return config
    }

    /// Parses `text` (JSON) and applies `overrides` (a JSON object merged in key by key, as
    /// AllenNLP's -o), then builds.
    public convenience init(text: String, overrides: String? = nil, outputDir: String? = nil, callbacks: Bool = true) throws {
        try self.init(config: try Self.parse(text: text, overrides: overrides), outputDir: outputDir, callbacks: callbacks)
    }

    /// Names the "trainer" object may give an argument by, besides its own.
    static let aliases = ["early_stopping_patience": ["patience"], "metric_for_best_model": ["validation_metric"],
                          "eval_strategy": ["evaluation_strategy"]]

    /// The training arguments of the "trainer" object, each set by name and checked, then
    /// `settings` (from the optimizer, schedule and callbacks objects, each with its key path:
    /// one set twice is an error naming both paths), and the trainer's disable_tqdm.
    static func trainingArguments(_ value: JSONValue?, settings: [(name: String, value: String, path: String)] = [])
        throws -> (TrainingArguments, disableTqdm: Bool) {
        var args = TrainingArguments()
        var object = try ConfigObject(value ?? .object([]), path: "trainer")
        let disableTqdm = try object.bool("disable_tqdm", false)
        let entries = value?.objectValue ?? []
        var seen: [String: String] = [:]
        for setting in settings {
            let names = [setting.name] + (aliases[setting.name] ?? [])
            if let given = entries.first(where: { names.contains($0.0) && !$0.1.isNull })?.0 {
                throw ConfigObject.error(setting.path, "sets \(setting.name), which trainer.\(given) sets too; keep one of them")
            }
            if let other = seen[setting.name], other != setting.path {
                throw ConfigObject.error(setting.path, "sets \(setting.name), which \(other) sets too; keep one of them")
            }
            seen[setting.name] = setting.path
            do { try args.set(setting.name, setting.value) } catch let error as SwiftTrainError {
                throw ConfigObject.error(setting.path, error.message)
            }
        }
        for (name, v) in entries where name != "disable_tqdm" && !(v.isNull && seen[name] != nil) {
            let text: String
            switch v {
            case let .string(s): text = s
            case let .bool(b): text = b ? "true" : "false"
            case .int, .double: text = v.serialized()
            case .null: text = "None"
            case let .array(items) where items.allSatisfy({ $0.stringValue != nil }):
                text = items.compactMap(\.stringValue).joined(separator: ",")
            default:
                throw ConfigObject.error(object.path(name), "expected a number, a bool, a string or a list of strings, got \(ConfigObject.kind(v))")
            }
            do { try args.set(name, text) } catch let error as SwiftTrainError {
                throw ConfigObject.error(object.path(name), error.message)
            }
        }
        do { try args.validate() } catch let error as SwiftTrainError {
            // at the object's path when one of them set the argument ("learning_rate must be ...")
            let name = error.message.prefix { $0 != " " && $0 != ":" }
            throw ConfigObject.error(seen[String(name)] ?? "trainer", error.message)
        }
        return (args, disableTqdm)
    }

    /// `patch` merged into `base`: objects key by key (recursively), anything else replaced.
    static func merge(_ base: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard var entries = base.objectValue, let changes = patch.objectValue else { return patch }
        for (key, value) in changes {
            if let i = entries.firstIndex(where: { $0.0 == key }) {
                entries[i].1 = merge(entries[i].1, value)
            } else {
                entries.append((key, value))
            }
        }
        return .object(entries)
    }

    /// The config with every training argument resolved (the library's defaults filled in),
    /// as `describe` prints it.
    public var resolvedConfig: JSONValue {
        var entries = config.objectValue ?? []
        var args = trainer.args.json
        if case var .object(fields) = args {
            fields.removeAll { objectArguments.contains($0.0) || $0.0 == "disable_tqdm" }
            fields.append(("disable_tqdm", .bool(disableTqdm)))
            args = .object(fields)
        }
        if let i = entries.firstIndex(where: { $0.0 == "trainer" }) { entries[i].1 = args } else { entries.append(("trainer", args)) }
        return .object(entries)
    }
}
