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
        case "optim_args": copy.optimArgs = value == "None" ? "" : value
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
        case "lr_scheduler_kwargs": copy.lrSchedulerKwargs = try Self.optionsText(name, value)
        case "warmup_steps": copy.warmupSteps = try Self.double(name, value)
        case "warmup_ratio": copy.warmupRatio = try Self.double(name, value)
        case "ema_decay": copy.emaDecay = try Self.double(name, value)
        case "momentum_scheduler_type":
            copy.momentumSchedulerType = try Self.choice(name, value, Self.momentumSchedulerNames)
        case "momentum_scheduler_kwargs": copy.momentumSchedulerKwargs = try Self.optionsText(name, value)
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
        case "output_dir": copy.outputDir = value == "None" ? "trainer_output" : value
        case "save_strategy": copy.saveStrategy = try Self.choice(name, value, Self.saveStrategyNames)
        case "save_steps": copy.saveSteps = try Self.double(name, value)
        case "save_total_limit": copy.saveTotalLimit = value == "None" ? 0 : try Self.int(name, value)
        case "save_only_model": copy.saveOnlyModel = try Self.bool(name, value)
        case "seed": copy.seed = try Self.int(name, value)
        case "data_seed": copy.dataSeed = value == "None" ? -1 : try Self.int(name, value)
        case "dataloader_drop_last": copy.dataloaderDropLast = try Self.bool(name, value)
        case "dataloader_shuffle": copy.dataloaderShuffle = try Self.bool(name, value)
        case "ignore_data_skip": copy.ignoreDataSkip = try Self.bool(name, value)
        case "label_names":  // "labels", "start_positions,end_positions" or a JSON list
            copy.labelNames = value == "None" ? ["labels"] : try Self.stringList(name, value)
        case "label_smoothing_factor": copy.labelSmoothingFactor = try Self.double(name, value)
        case "report_to":  // "tensorboard", "none", "all", "tensorboard,..." or a JSON list
            copy.reportTo = value == "None" ? ["none"] : try Self.stringList(name, value).filter { !$0.isEmpty }
        case "logging_dir": copy.loggingDir = value == "None" ? "" : value
        case "ddp_backend": copy.ddpBackend = value == "None" ? "" : value
        case "ddp_timeout": copy.ddpTimeout = value == "None" ? 1800 : try Self.double(name, value)
        case "ddp_bucket_cap_mb": copy.ddpBucketCapMB = value == "None" ? 0 : try Self.double(name, value)
        case "train_sampling_strategy":  // HF: "random" or "sequential"; ours: dataloader_shuffle
            guard value == "random" || value == "sequential" else {
                throw SwiftTrainError.invalid("train_sampling_strategy: '\(value)' is not supported; use \"random\" "
                    + "or \"sequential\" (the training set in order every epoch)")
            }
            copy.dataloaderShuffle = value == "random"
        default:
            guard let field = Self.fieldsByName[name], field.isKept else { throw Self.unknownArgument(name) }
            try copy.setKept(field, value)
        }
        self = copy
    }

    // The names of the enum arguments' values, as users write them (HF's spellings; several
    // names may mean one value). `set`, `json`, the C API's st_enum_from_name / st_enum_names
    // and through them the Python package all read these tables; nothing else lists the names.

    /// `optim`: HF's optimizer names and swifttrain's (aliases such as "adamw_torch" after the
    /// main name); training_args.json spells each as `savedOptimizerNames` does.
    public static let optimizerNames: [(String, OptimizerKind)] = [
        ("adamw", .adamw), ("adamw_torch", .adamw), ("adamw_torch_fused", .adamw), ("adam", .adam), ("sgd", .sgd),
        ("adagrad", .adagrad), ("rmsprop", .rmsprop), ("adadelta", .adadelta), ("lion", .lion), ("lion_32bit", .lion),
    ]
    /// The name training_args.json gives an optimizer: HF's (HF's default "adamw_torch_fused" for
    /// AdamW), or swifttrain's for the ones HF lacks (Adam, Adadelta).
    public static func savedOptimizerName(_ kind: OptimizerKind) -> String {
        switch kind {
        case .adamw: return "adamw_torch_fused"
        case .lion: return "lion_32bit"
        default: return optimizerNames.first { $0.1 == kind }!.0
        }
    }
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

    private static func choice<T>(_ name: String, _ value: String, _ table: [(String, T)]) throws -> T {
        if let hit = table.first(where: { $0.0 == value }) { return hit.1 }
        throw SwiftTrainError.invalid(
            "\(name): unknown value '\(value)'; choose one of: \(table.map(\.0).joined(separator: ", "))")
    }

    static func double(_ name: String, _ value: String) throws -> Double {
        guard let v = Double(value.trimmingSpaces) else {
            throw SwiftTrainError.invalid("\(name): '\(value)' is not a number")
        }
        return v
    }

    static func int(_ name: String, _ value: String) throws -> Int {
        let t = value.trimmingSpaces
        if let v = Int(t) { return v }
        if let d = Double(t), d.rounded() == d, abs(d) < 9e15 { return Int(d) }  // "3.0"
        throw SwiftTrainError.invalid("\(name): '\(value)' is not an integer")
    }

    static func bool(_ name: String, _ value: String) throws -> Bool {
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
