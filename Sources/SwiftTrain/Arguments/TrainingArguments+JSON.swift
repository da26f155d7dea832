/// The arguments as JSON by their HF names: every field (`json`), and the two files a checkpoint
/// splits them into, training_args.json (HF's fields, loadable by `transformers.TrainingArguments`)
/// and swifttrain_args.json (the additions, and values HF has no name for).
extension TrainingArguments {
    /// Every argument by its HF name, in `fields`' order: HF's fields as HF's `to_dict` writes them
    /// (None as null, lists and dicts as JSON), then swifttrain's additions. `set(name, value)`
    /// reads each value's text back (JSON text for lists and dicts).
    public var json: JSONValue {
        func name<T: Equatable>(_ value: T, _ table: [(String, T)]) -> JSONValue { .string(table.first { $0.1 == value }!.0) }
        func optional(_ text: String) -> JSONValue { text.isEmpty ? .null : .string(text) }
        let own: [String: JSONValue] = [
            "output_dir": .string(outputDir), "per_device_train_batch_size": .int(perDeviceTrainBatchSize),
            "num_train_epochs": .double(numTrainEpochs), "max_steps": .int(maxSteps), "learning_rate": .double(learningRate),
            "lr_scheduler_type": name(lrSchedulerType, Self.schedulerNames),
            "lr_scheduler_kwargs": Self.optionsJSON(lrSchedulerKwargs), "warmup_steps": .double(warmupSteps),
            "optim": .string(Self.savedOptimizerName(optim)), "optim_args": optional(optimArgs),
            "weight_decay": .double(weightDecay), "adam_beta1": .double(adamBeta1), "adam_beta2": .double(adamBeta2),
            "adam_epsilon": .double(adamEpsilon), "gradient_accumulation_steps": .int(gradientAccumulationSteps),
            "max_grad_norm": .double(maxGradNorm), "label_smoothing_factor": .double(labelSmoothingFactor),
            "logging_strategy": name(loggingStrategy, Self.strategyNames), "logging_steps": .double(loggingSteps),
            "logging_first_step": .bool(loggingFirstStep), "logging_nan_inf_filter": .bool(loggingNanInfFilter),
            "report_to": reportTo.count == 1 ? .string(reportTo[0]) : .array(reportTo.map { .string($0) }),
            "eval_strategy": name(evalStrategy, Self.strategyNames), "eval_steps": evalSteps == 0 ? .null : .double(evalSteps),
            "eval_delay": .double(evalDelay), "per_device_eval_batch_size": .int(perDeviceEvalBatchSize),
            "eval_on_start": .bool(evalOnStart), "save_only_model": .bool(saveOnlyModel),
            "save_strategy": name(saveStrategy, Self.saveStrategyNames), "save_steps": .double(saveSteps),
            "save_total_limit": saveTotalLimit == 0 ? .null : .int(saveTotalLimit),
            "load_best_model_at_end": .bool(loadBestModelAtEnd), "metric_for_best_model": optional(metricForBestModel),
            "greater_is_better": greaterIsBetter.map { .bool($0) } ?? .null, "ignore_data_skip": .bool(ignoreDataSkip),
            "seed": .int(seed), "data_seed": dataSeed < 0 ? .null : .int(dataSeed),
            "dataloader_drop_last": .bool(dataloaderDropLast),
            "label_names": .array(labelNames.map { .string($0) }),  // HF's None resolved
            "train_sampling_strategy": .string(dataloaderShuffle ? "random" : "sequential"),
            "ddp_backend": optional(ddpBackend), "ddp_timeout": Self.number(ddpTimeout),
            "ddp_bucket_cap_mb": ddpBucketCapMB > 0 ? Self.number(ddpBucketCapMB) : .null,
            // additions
            "max_micro_batch_size": .int(maxMicroBatchSize), "sgd_momentum": .double(sgdMomentum),
            "max_grad_value": .double(maxGradValue), "nonfinite_grad_norm": name(nonFiniteGradNorm, Self.nonFiniteGradNormNames),
            "warmup_ratio": .double(warmupRatio), "ema_decay": .double(emaDecay),
            "momentum_scheduler_type": name(momentumSchedulerType, Self.momentumSchedulerNames),
            "momentum_scheduler_kwargs": Self.optionsJSON(momentumSchedulerKwargs),
            "early_stopping_patience": .int(earlyStoppingPatience), "early_stopping_threshold": .double(earlyStoppingThreshold),
            "dataloader_shuffle": .bool(dataloaderShuffle), "logging_dir": optional(loggingDir),
        ]
        return .object(Self.fields.map { ($0.name, $0.isKept ? kept($0.name) : own[$0.name]!) })
    }

    /// A whole number as an int (HF types these fields int), another as a double.
    static func number(_ value: Double) -> JSONValue {
        value.rounded() == value && Swift.abs(value) < 9e15 ? .int(Int(value)) : .double(value)
    }

    /// Values of HF's fields that HF has no name for: they go to swifttrain_args.json.
    static let valuesHFLacks: [String: Set<String>] = [
        "optim": ["adam", "adadelta"], "lr_scheduler_type": ["step", "exponential"], "ddp_backend": ["none"],
    ]

    /// training_args.json (in place of HF's pickled training_args.bin): every HF field whose
    /// value HF can hold; `transformers.TrainingArguments(**json)` loads it.
    public var hfJSON: JSONValue { split.hf }

    /// swifttrain_args.json: the additions, and the HF fields set to values HF has no name for
    /// (optim "adam", lr_scheduler_type "step", ...). With training_args.json, every argument.
    public var additionsJSON: JSONValue { split.additions }

    private var split: (hf: JSONValue, additions: JSONValue) {
        var hf: [(String, JSONValue)] = [], additions: [(String, JSONValue)] = []
        for (name, value) in json.objectValue! {
            let lacking = value.stringValue.map { Self.valuesHFLacks[name]?.contains($0) ?? false } ?? false
            if Self.fieldsByName[name]!.isHF && !lacking { hf.append((name, value)) } else { additions.append((name, value)) }
        }
        return (.object(hf), .object(additions))
    }

    /// Sets the argument `name` from a JSON value, as training_args.json and swifttrain_args.json
    /// hold it (lists and dicts as JSON text, null as "None").
    public mutating func set(_ name: String, json value: JSONValue) throws {
        switch value {
        case let .string(s): try set(name, s)
        case let .bool(b): try set(name, b ? "true" : "false")
        case .null: try set(name, "None")
        default: try set(name, value.serialized(indent: 0))
        }
    }
}
