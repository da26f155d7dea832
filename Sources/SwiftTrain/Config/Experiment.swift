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
    public static let keys = ["model", "train_data", "validation_data", "loss", "trainer"]

    public let config: JSONValue
    public let model: Module
    public let trainDataset: DataSource
    public let validationDataset: DataSource?
    public let trainer: Trainer
    /// The config's trainer.disable_tqdm: the command line shows no progress bar.
    public let disableTqdm: Bool

    /// Builds everything `config` describes; `outputDir`, when given, replaces the trainer's
    /// output_dir. Errors name the key path.
    public init(config: JSONValue, outputDir: String? = nil) throws {
        var top = try ConfigObject(config, path: "")
        model = try ConfigRegistry.layer(try top.required("model"), path: "model")
        trainDataset = try ConfigRegistry.data(try top.required("train_data"), path: "train_data")
        validationDataset = try top.value("validation_data").map { try ConfigRegistry.data($0, path: "validation_data") }
        let lossName = try top.string("loss", LossKind.crossEntropy.name)
        guard let loss = LossKind.names.first(where: { $0.0 == lossName })?.1 else {
            throw ConfigObject.error("loss", "unknown loss \"\(lossName)\"; known: \(LossKind.names.map(\.0).joined(separator: ", "))")
        }
        let parsed = try Self.trainingArguments(top.value("trainer"))
        var args = parsed.0
        disableTqdm = parsed.disableTqdm
        if let outputDir { args.outputDir = outputDir }
        try args.validate()
        try top.finish(accepted: Self.keys)
        trainer = try Trainer(model: model, loss: loss, args: args)
        trainer.trainDataset = trainDataset
        trainer.evalDataset = validationDataset
        self.config = config
    }

    /// Parses `text` (JSON) and applies `overrides` (a JSON object merged in key by key, as
    /// AllenNLP's -o), then builds.
    public convenience init(text: String, overrides: String? = nil, outputDir: String? = nil) throws {
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
        try self.init(config: config, outputDir: outputDir)
    }

    /// The training arguments of the "trainer" object, each set by name and checked, and its
    /// disable_tqdm.
    static func trainingArguments(_ value: JSONValue?) throws -> (TrainingArguments, disableTqdm: Bool) {
        var args = TrainingArguments()
        guard let value else { return (args, false) }
        var object = try ConfigObject(value, path: "trainer")
        let disableTqdm = try object.bool("disable_tqdm", false)
        guard let entries = value.objectValue else { return (args, disableTqdm) }
        for (name, v) in entries where name != "disable_tqdm" {
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
            throw ConfigObject.error("trainer", error.message)
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
            fields.append(("disable_tqdm", .bool(disableTqdm)))
            args = .object(fields)
        }
        if let i = entries.firstIndex(where: { $0.0 == "trainer" }) { entries[i].1 = args } else { entries.append(("trainer", args)) }
        return .object(entries)
    }
}
