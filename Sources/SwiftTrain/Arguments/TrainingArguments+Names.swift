/// Setting arguments by their HuggingFace names from strings, for configuration files, the
/// C API (`st_training_args_set`) and the Python face: one parser for all of them.
extension TrainingArguments {
    /// Sets the argument `name` (HF spelling, e.g. "learning_rate") from `value`.
    /// Leaves the arguments unchanged and throws `.invalidArgument` on an unknown name or
    /// a value that does not parse.
    public mutating func set(_ name: String, _ value: String) throws {
        var copy = self
        switch name {
        case "num_train_epochs": copy.numTrainEpochs = try Self.double(name, value)
        case "max_steps": copy.maxSteps = try Self.int(name, value)
        case "per_device_train_batch_size": copy.perDeviceTrainBatchSize = try Self.int(name, value)
        case "per_device_eval_batch_size": copy.perDeviceEvalBatchSize = try Self.int(name, value)
        case "gradient_accumulation_steps": copy.gradientAccumulationSteps = try Self.int(name, value)
        case "max_micro_batch_size": copy.maxMicroBatchSize = try Self.int(name, value)
        case "optim": copy.optim = try Self.choice(name, value, Self.optimizerNames)
        case "optim_args": copy.optimArgs = value
        case "learning_rate": copy.learningRate = try Self.double(name, value)
        case "weight_decay": copy.weightDecay = try Self.double(name, value)
        case "adam_beta1": copy.adamBeta1 = try Self.double(name, value)
        case "adam_beta2": copy.adamBeta2 = try Self.double(name, value)
        case "adam_epsilon": copy.adamEpsilon = try Self.double(name, value)
        case "sgd_momentum": copy.sgdMomentum = try Self.double(name, value)
        case "max_grad_norm": copy.maxGradNorm = try Self.double(name, value)
        case "max_grad_value": copy.maxGradValue = try Self.double(name, value)
        case "nonfinite_grad_norm": copy.nonFiniteGradNorm = try Self.choice(name, value, Self.nonFiniteGradNormNames)
        case "lr_scheduler_type": copy.lrSchedulerType = try Self.choice(name, value, Self.schedulerNames)
        case "lr_scheduler_kwargs": copy.lrSchedulerKwargs = value
        case "warmup_steps": copy.warmupSteps = try Self.double(name, value)
        case "warmup_ratio": copy.warmupRatio = try Self.double(name, value)
        case "ema_decay": copy.emaDecay = try Self.double(name, value)
        case "momentum_scheduler_type":
            copy.momentumSchedulerType = try Self.choice(name, value, Self.momentumSchedulerNames)
        case "momentum_scheduler_kwargs": copy.momentumSchedulerKwargs = value
        case "logging_strategy": copy.loggingStrategy = try Self.choice(name, value, Self.strategyNames)
        case "logging_steps": copy.loggingSteps = try Self.double(name, value)
        case "logging_first_step": copy.loggingFirstStep = try Self.bool(name, value)
        case "logging_nan_inf_filter": copy.loggingNanInfFilter = try Self.bool(name, value)
        case "eval_strategy", "evaluation_strategy": copy.evalStrategy = try Self.choice(name, value, Self.strategyNames)
        case "eval_steps": copy.evalSteps = value == "None" ? 0 : try Self.double(name, value)
        case "eval_delay": copy.evalDelay = try Self.double(name, value)
        case "eval_on_start": copy.evalOnStart = try Self.bool(name, value)
        case "metric_for_best_model": copy.metricForBestModel = value == "None" ? "" : value
        case "greater_is_better": copy.greaterIsBetter = value == "None" ? nil : try Self.bool(name, value)
        case "load_best_model_at_end": copy.loadBestModelAtEnd = try Self.bool(name, value)
        case "early_stopping_patience", "patience": copy.earlyStoppingPatience = value == "None" ? 0 : try Self.int(name, value)
        case "early_stopping_threshold": copy.earlyStoppingThreshold = try Self.double(name, value)
        case "validation_metric":  // AllenNLP: "+accuracy" (higher is better) or "-loss"
            guard let sign = value.first, sign == "+" || sign == "-", value.count > 1 else {
                throw SwiftTrainError.invalid("validation_metric: '\(value)' must start with + (higher is better) or - (lower is better), e.g. \"-loss\"")
            }
            copy.metricForBestModel = String(value.dropFirst())
            copy.greaterIsBetter = sign == "+"
        case "output_dir": copy.outputDir = value
        case "save_strategy": copy.saveStrategy = try Self.choice(name, value, Self.saveStrategyNames)
        case "save_steps": copy.saveSteps = try Self.double(name, value)
        case "save_total_limit": copy.saveTotalLimit = value == "None" ? 0 : try Self.int(name, value)
        case "save_only_model": copy.saveOnlyModel = try Self.bool(name, value)
        case "seed": copy.seed = try Self.int(name, value)
        case "data_seed": copy.dataSeed = try Self.int(name, value)
        case "dataloader_drop_last": copy.dataloaderDropLast = try Self.bool(name, value)
        case "dataloader_shuffle": copy.dataloaderShuffle = try Self.bool(name, value)
        case "ignore_data_skip": copy.ignoreDataSkip = try Self.bool(name, value)
        case "label_names":  // "labels" or "start_positions,end_positions"
            copy.labelNames = value == "None" ? ["labels"] : value.split(separator: ",", omittingEmptySubsequences: false)
                .map { String(String($0).trimmingSpaces) }
        case "label_smoothing_factor": copy.labelSmoothingFactor = try Self.double(name, value)
        case "report_to":  // "tensorboard", "none", "all" or "tensorboard,..."
            copy.reportTo = value == "None" ? ["none"] : value.split(separator: ",").map { String(String($0).trimmingSpaces) }
        case "logging_dir": copy.loggingDir = value == "None" ? "" : value
        case "ddp_backend": copy.ddpBackend = value == "None" ? "" : value
        case "ddp_timeout": copy.ddpTimeout = value == "None" ? 1800 : try Self.double(name, value)
        case "ddp_bucket_cap_mb": copy.ddpBucketCapMB = value == "None" ? 0 : try Self.double(name, value)
        default:
            throw SwiftTrainError.invalid(
                "unknown training argument '\(name)'; known: \(Self.argumentNames.joined(separator: ", "))")
        }
        self = copy
    }

    /// Every name `set` accepts.
    public static let argumentNames = [
        "num_train_epochs", "max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
        "gradient_accumulation_steps", "max_micro_batch_size", "optim", "optim_args", "learning_rate", "weight_decay",
        "adam_beta1", "adam_beta2", "adam_epsilon", "sgd_momentum", "max_grad_norm", "max_grad_value",
        "nonfinite_grad_norm", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "warmup_ratio", "ema_decay",
        "momentum_scheduler_type", "momentum_scheduler_kwargs", "logging_strategy", "logging_steps",
        "logging_first_step", "logging_nan_inf_filter", "eval_strategy", "eval_steps", "eval_delay", "eval_on_start",
        "metric_for_best_model", "greater_is_better", "load_best_model_at_end", "early_stopping_patience",
        "early_stopping_threshold", "patience", "validation_metric", "output_dir", "save_strategy", "save_steps",
        "save_total_limit", "save_only_model", "seed", "data_seed", "dataloader_drop_last", "dataloader_shuffle",
        "ignore_data_skip", "label_names", "label_smoothing_factor", "report_to", "logging_dir",
        "ddp_backend", "ddp_timeout", "ddp_bucket_cap_mb",
    ]

    // The names of the enum arguments' values, as users write them (HF's spellings; several
    // names may mean one value). `set`, `json`, the C API's st_enum_from_name / st_enum_names
    // and through them the Python package all read these tables; nothing else lists the names.

    /// `optim`: HF's optimizer names (aliases such as "adamw_torch" after the main name).
    public static let optimizerNames: [(String, OptimizerKind)] = [
        ("adamw", .adamw), ("adamw_torch", .adamw), ("adamw_torch_fused", .adamw), ("adam", .adam), ("sgd", .sgd),
        ("adagrad", .adagrad), ("rmsprop", .rmsprop), ("adadelta", .adadelta), ("lion", .lion), ("lion_32bit", .lion),
    ]
    /// `lr_scheduler_type`: HF's get_scheduler names, plus PyTorch's "step" and "exponential".
    public static let schedulerNames: [(String, SchedulerKind)] = [
        ("linear", .linear), ("constant", .constant), ("constant_with_warmup", .constantWithWarmup), ("cosine", .cosine),
        ("cosine_with_restarts", .cosineWithRestarts), ("polynomial", .polynomial), ("inverse_sqrt", .inverseSqrt),
        ("reduce_lr_on_plateau", .reduceLROnPlateau), ("cosine_with_min_lr", .cosineWithMinLR),
        ("warmup_stable_decay", .warmupStableDecay), ("step", .step), ("exponential", .exponential),
    ]
    /// `logging_strategy` and `eval_strategy`.
    public static let strategyNames: [(String, IntervalStrategy)] = [("no", .no), ("steps", .steps), ("epoch", .epoch)]
    /// `save_strategy`.
    public static let saveStrategyNames: [(String, SaveStrategy)] = [("no", .no), ("steps", .steps), ("epoch", .epoch), ("best", .best)]
    /// `nonfinite_grad_norm`.
    public static let nonFiniteGradNormNames: [(String, NonFiniteGradPolicy)] = [("error", .error), ("skip", .skip)]
    /// `momentum_scheduler_type`.
    public static let momentumSchedulerNames: [(String, MomentumSchedulerKind)] = [
        ("none", .none), ("inverted_triangular", .invertedTriangular),
    ]

    /// The arguments by their HF names, as training_args.json holds them (in place of HF's
    /// pickled training_args.bin); `set(name, value)` reads each value's text back. AdamW is
    /// spelt "adamw_torch", HF's default name for it.
    public var json: JSONValue {
        func name<T: Equatable>(_ value: T, _ table: [(String, T)]) -> JSONValue { .string(table.first { $0.1 == value }!.0) }
        let optimName: JSONValue = optim == .adamw ? .string("adamw_torch") : name(optim, Self.optimizerNames)
        return .object([
            ("num_train_epochs", .double(numTrainEpochs)), ("max_steps", .int(maxSteps)),
            ("per_device_train_batch_size", .int(perDeviceTrainBatchSize)), ("per_device_eval_batch_size", .int(perDeviceEvalBatchSize)),
            ("gradient_accumulation_steps", .int(gradientAccumulationSteps)), ("max_micro_batch_size", .int(maxMicroBatchSize)),
            ("optim", optimName), ("optim_args", .string(optimArgs)),
            ("learning_rate", .double(learningRate)), ("weight_decay", .double(weightDecay)),
            ("adam_beta1", .double(adamBeta1)), ("adam_beta2", .double(adamBeta2)), ("adam_epsilon", .double(adamEpsilon)),
            ("sgd_momentum", .double(sgdMomentum)), ("max_grad_norm", .double(maxGradNorm)), ("max_grad_value", .double(maxGradValue)),
            ("nonfinite_grad_norm", name(nonFiniteGradNorm, Self.nonFiniteGradNormNames)),
            ("lr_scheduler_type", name(lrSchedulerType, Self.schedulerNames)), ("lr_scheduler_kwargs", .string(lrSchedulerKwargs)),
            ("warmup_steps", .double(warmupSteps)), ("warmup_ratio", .double(warmupRatio)), ("ema_decay", .double(emaDecay)),
            ("momentum_scheduler_type", name(momentumSchedulerType, Self.momentumSchedulerNames)),
            ("momentum_scheduler_kwargs", .string(momentumSchedulerKwargs)),
            ("logging_strategy", name(loggingStrategy, Self.strategyNames)), ("logging_steps", .double(loggingSteps)),
            ("logging_first_step", .bool(loggingFirstStep)), ("logging_nan_inf_filter", .bool(loggingNanInfFilter)),
            ("eval_strategy", name(evalStrategy, Self.strategyNames)), ("eval_steps", .double(evalSteps)),
            ("eval_delay", .double(evalDelay)), ("eval_on_start", .bool(evalOnStart)),
            ("metric_for_best_model", .string(metricForBestModel)), ("greater_is_better", greaterIsBetter.map { .bool($0) } ?? .null),
            ("load_best_model_at_end", .bool(loadBestModelAtEnd)), ("early_stopping_patience", .int(earlyStoppingPatience)),
            ("early_stopping_threshold", .double(earlyStoppingThreshold)), ("output_dir", .string(outputDir)),
            ("save_strategy", name(saveStrategy, Self.saveStrategyNames)), ("save_steps", .double(saveSteps)),
            ("save_total_limit", .int(saveTotalLimit)), ("save_only_model", .bool(saveOnlyModel)),
            ("seed", .int(seed)), ("data_seed", .int(dataSeed)), ("dataloader_drop_last", .bool(dataloaderDropLast)),
            ("dataloader_shuffle", .bool(dataloaderShuffle)), ("ignore_data_skip", .bool(ignoreDataSkip)),
            ("label_names", .string(labelNames.joined(separator: ","))), ("label_smoothing_factor", .double(labelSmoothingFactor)),
            ("report_to", .string(reportTo.joined(separator: ","))), ("logging_dir", .string(loggingDir)),
            ("ddp_backend", ddpBackend.isEmpty ? .null : .string(ddpBackend)),
            ("ddp_timeout", ddpTimeout.rounded() == ddpTimeout && ddpTimeout < 9e15 ? .int(Int(ddpTimeout)) : .double(ddpTimeout)),
            ("ddp_bucket_cap_mb", ddpBucketCapMB > 0 ? .double(ddpBucketCapMB) : .null),
        ])
    }

    private static func choice<T>(_ name: String, _ value: String, _ table: [(String, T)]) throws -> T {
        if let hit = table.first(where: { $0.0 == value }) { return hit.1 }
        throw SwiftTrainError.invalid(
            "\(name): unknown value '\(value)'; choose one of: \(table.map(\.0).joined(separator: ", "))")
    }

    private static func double(_ name: String, _ value: String) throws -> Double {
        guard let v = Double(value.trimmingSpaces) else {
            throw SwiftTrainError.invalid("\(name): '\(value)' is not a number")
        }
        return v
    }

    private static func int(_ name: String, _ value: String) throws -> Int {
        let t = value.trimmingSpaces
        if let v = Int(t) { return v }
        if let d = Double(t), d.rounded() == d, abs(d) < 9e15 { return Int(d) }  // "3.0"
        throw SwiftTrainError.invalid("\(name): '\(value)' is not an integer")
    }

    private static func bool(_ name: String, _ value: String) throws -> Bool {
        switch value.trimmingSpaces.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw SwiftTrainError.invalid("\(name): '\(value)' is not a boolean (true/false)")
        }
    }
}

extension StringProtocol {
    /// Without its leading and trailing spaces (option values, CSV fields).
    var trimmingSpaces: SubSequence {
        let start = firstIndex { $0 != " " } ?? endIndex
        let end = lastIndex { $0 != " " }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
