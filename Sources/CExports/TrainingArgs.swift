import PublicHeader
import SwiftTrain

extension TrainingArguments {
    /// The arguments of a C struct; throws naming a field that holds an unknown enum value.
    init(_ c: st_training_args) throws {
        guard c.version == ST_TRAINING_ARGS_VERSION else {
            throw SwiftTrainError(.invalidArgument,
                "st_training_args.version is \(c.version) but this library knows version \(ST_TRAINING_ARGS_VERSION); "
                    + "fill the struct with st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)")
        }
        func pick<T: RawRepresentable<Int32>>(_ raw: UInt32, _ field: String, _ names: String) throws -> T {
            guard let v = T(rawValue: Int32(bitPattern: raw)) else {
                throw SwiftTrainError(.invalidArgument,
                                      "\(field): unknown value \(Int32(bitPattern: raw)); use one of \(names)")
            }
            return v
        }
        self.init()
        numTrainEpochs = c.num_train_epochs
        maxSteps = Int(clamping: c.max_steps)
        perDeviceTrainBatchSize = Int(clamping: c.per_device_train_batch_size)
        perDeviceEvalBatchSize = Int(clamping: c.per_device_eval_batch_size)
        optim = try pick(c.optim.rawValue, "optim", "ST_OPTIM_ADAMW ... ST_OPTIM_LION")
        learningRate = c.learning_rate
        weightDecay = c.weight_decay
        adamBeta1 = c.adam_beta1
        adamBeta2 = c.adam_beta2
        adamEpsilon = c.adam_epsilon
        sgdMomentum = c.sgd_momentum
        maxGradNorm = c.max_grad_norm
        lrSchedulerType = try pick(c.lr_scheduler_type.rawValue, "lr_scheduler_type", "ST_LR_LINEAR ... ST_LR_EXPONENTIAL")
        warmupSteps = c.warmup_steps
        loggingStrategy = try pick(c.logging_strategy.rawValue, "logging_strategy",
                                   "ST_STRATEGY_NO, ST_STRATEGY_STEPS, ST_STRATEGY_EPOCH")
        loggingSteps = c.logging_steps
        loggingFirstStep = c.logging_first_step
        evalStrategy = try pick(c.eval_strategy.rawValue, "eval_strategy",
                                "ST_STRATEGY_NO, ST_STRATEGY_STEPS, ST_STRATEGY_EPOCH")
        evalSteps = c.eval_steps
        seed = Int(clamping: c.seed)
        dataSeed = Int(clamping: c.data_seed)
        dataloaderDropLast = c.dataloader_drop_last
        gradientAccumulationSteps = Int(clamping: c.gradient_accumulation_steps)
        maxMicroBatchSize = Int(clamping: c.max_micro_batch_size)
        warmupRatio = c.warmup_ratio
        maxGradValue = c.max_grad_value
        nonFiniteGradNorm = try pick(c.nonfinite_grad_norm.rawValue, "nonfinite_grad_norm", "ST_NONFINITE_ERROR, ST_NONFINITE_SKIP")
        emaDecay = c.ema_decay
        momentumSchedulerType = try pick(c.momentum_scheduler_type.rawValue, "momentum_scheduler_type",
                                         "ST_MOMENTUM_NONE, ST_MOMENTUM_INVERTED_TRIANGULAR")
        var copy = c
        optimArgs = try readOption(&copy.optim_args, "optim_args")
        lrSchedulerKwargs = try readOption(&copy.lr_scheduler_kwargs, "lr_scheduler_kwargs")
        momentumSchedulerKwargs = try readOption(&copy.momentum_scheduler_kwargs, "momentum_scheduler_kwargs")
        metricForBestModel = try readOption(&copy.metric_for_best_model, "metric_for_best_model")
        loggingNanInfFilter = c.logging_nan_inf_filter
        evalDelay = c.eval_delay
        evalOnStart = c.eval_on_start
        guard (-1...1).contains(c.greater_is_better) else {
            throw SwiftTrainError(.invalidArgument, "greater_is_better must be -1 (derived), 0 or 1, got \(c.greater_is_better)")
        }
        greaterIsBetter = c.greater_is_better < 0 ? nil : c.greater_is_better == 1
        loadBestModelAtEnd = c.load_best_model_at_end
        earlyStoppingPatience = Int(clamping: c.early_stopping_patience)
        earlyStoppingThreshold = c.early_stopping_threshold
        outputDir = try readOption(&copy.output_dir, "output_dir")
        saveStrategy = try pick(c.save_strategy.rawValue, "save_strategy", "ST_SAVE_NO, ST_SAVE_STEPS, ST_SAVE_EPOCH, ST_SAVE_BEST")
        saveSteps = c.save_steps
        saveTotalLimit = Int(clamping: c.save_total_limit)
        saveOnlyModel = c.save_only_model
        dataloaderShuffle = c.dataloader_shuffle
        ignoreDataSkip = c.ignore_data_skip
        labelSmoothingFactor = c.label_smoothing_factor
        try set("label_names", try readOption(&copy.label_names, "label_names"))
        try set("report_to", try readOption(&copy.report_to, "report_to"))
        loggingDir = try readOption(&copy.logging_dir, "logging_dir")
        try set("ddp_backend", try readOption(&copy.ddp_backend, "ddp_backend"))
        ddpTimeout = c.ddp_timeout
        ddpBucketCapMB = c.ddp_bucket_cap_mb
        let other = try readOption(&copy.other_fields, "other_fields")
        guard let fields = (try? JSONValue.parse(other.isEmpty ? "{}" : other))?.objectValue else {
            throw SwiftTrainError(.invalidArgument, "st_training_args.other_fields is not a JSON object; "
                + "fill the struct with st_training_args_init and set these fields with st_training_args_set")
        }
        for (name, value) in fields {
            guard Self.fieldsByName[name]?.isKept == true else {
                throw SwiftTrainError(.invalidArgument, "st_training_args.other_fields: '\(name)' is not one of HF's "
                    + "other fields; set it with st_training_args_set")
            }
            try set(name, json: value)
        }
    }

    /// These arguments as a C struct; throws when an option string does not fit its field.
    func cStruct() throws -> st_training_args {
        var c = st_training_args()
        c.version = UInt32(ST_TRAINING_ARGS_VERSION)
        c.num_train_epochs = numTrainEpochs
        c.max_steps = Int64(maxSteps)
        c.per_device_train_batch_size = Int64(perDeviceTrainBatchSize)
        c.per_device_eval_batch_size = Int64(perDeviceEvalBatchSize)
        c.optim = st_optimizer(rawValue: UInt32(optim.rawValue))
        c.learning_rate = learningRate
        c.weight_decay = weightDecay
        c.adam_beta1 = adamBeta1
        c.adam_beta2 = adamBeta2
        c.adam_epsilon = adamEpsilon
        c.sgd_momentum = sgdMomentum
        c.max_grad_norm = maxGradNorm
        c.lr_scheduler_type = st_lr_scheduler(rawValue: UInt32(lrSchedulerType.rawValue))
        c.warmup_steps = warmupSteps
        c.logging_strategy = st_interval_strategy(rawValue: UInt32(loggingStrategy.rawValue))
        c.logging_steps = loggingSteps
        c.logging_first_step = loggingFirstStep
        c.eval_strategy = st_interval_strategy(rawValue: UInt32(evalStrategy.rawValue))
        c.eval_steps = evalSteps
        c.seed = Int64(seed)
        c.data_seed = Int64(dataSeed)
        c.dataloader_drop_last = dataloaderDropLast
        c.gradient_accumulation_steps = Int64(gradientAccumulationSteps)
        c.max_micro_batch_size = Int64(maxMicroBatchSize)
        c.warmup_ratio = warmupRatio
        c.max_grad_value = maxGradValue
        c.nonfinite_grad_norm = st_nonfinite_policy(rawValue: UInt32(nonFiniteGradNorm.rawValue))
        c.ema_decay = emaDecay
        c.momentum_scheduler_type = st_momentum_scheduler(rawValue: UInt32(momentumSchedulerType.rawValue))
        try writeOption(optimArgs, into: &c.optim_args, "optim_args")
        try writeOption(lrSchedulerKwargs, into: &c.lr_scheduler_kwargs, "lr_scheduler_kwargs")
        try writeOption(momentumSchedulerKwargs, into: &c.momentum_scheduler_kwargs, "momentum_scheduler_kwargs")
        try writeOption(metricForBestModel, into: &c.metric_for_best_model, "metric_for_best_model")
        c.logging_nan_inf_filter = loggingNanInfFilter
        c.eval_delay = evalDelay
        c.eval_on_start = evalOnStart
        c.greater_is_better = greaterIsBetter.map { $0 ? 1 : 0 } ?? -1
        c.load_best_model_at_end = loadBestModelAtEnd
        c.early_stopping_patience = Int64(earlyStoppingPatience)
        c.early_stopping_threshold = earlyStoppingThreshold
        try writeOption(outputDir, into: &c.output_dir, "output_dir", capacity: "ST_PATH_CAPACITY")
        c.save_strategy = st_save_strategy(rawValue: UInt32(saveStrategy.rawValue))
        c.save_steps = saveSteps
        c.save_total_limit = Int64(saveTotalLimit)
        c.save_only_model = saveOnlyModel
        c.dataloader_shuffle = dataloaderShuffle
        c.ignore_data_skip = ignoreDataSkip
        c.label_smoothing_factor = labelSmoothingFactor
        try writeOption(labelNames.joined(separator: ","), into: &c.label_names, "label_names")
        try writeOption(reportTo.joined(separator: ","), into: &c.report_to, "report_to")
        try writeOption(loggingDir, into: &c.logging_dir, "logging_dir", capacity: "ST_PATH_CAPACITY")
        try writeOption(ddpBackend, into: &c.ddp_backend, "ddp_backend")
        c.ddp_timeout = ddpTimeout
        c.ddp_bucket_cap_mb = ddpBucketCapMB
        let other = JSONValue.object(keptFields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        try writeOption(other.serialized(indent: 0), into: &c.other_fields, "other_fields", capacity: "ST_PATH_CAPACITY")
        return c
    }
}

@c @implementation
public func st_training_args_init(_ args: UnsafeMutablePointer<st_training_args>?, _ version: UInt32) -> st_status {
    status {
        let out = try required(args, "st_training_args_init", "args")
        guard version == ST_TRAINING_ARGS_VERSION else {
            throw SwiftTrainError(.invalidArgument,
                "st_training_args_init: version \(version) is not supported; pass ST_TRAINING_ARGS_VERSION "
                    + "(\(ST_TRAINING_ARGS_VERSION)) from the swifttrain.h this library was built with")
        }
        out.pointee = try TrainingArguments().cStruct()
    }
}

@c @implementation
public func st_training_args_set(_ args: UnsafeMutablePointer<st_training_args>?, _ name: UnsafePointer<CChar>?,
                                 _ value: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_training_args_set"
        let c = try required(args, fn, "args")
        let key = String(cString: try required(name, fn, "name"))
        let text = String(cString: try required(value, fn, "value"))
        var swiftArgs = try TrainingArguments(c.pointee)
        try swiftArgs.set(key, text)
        c.pointee = try swiftArgs.cStruct()
    }
}

@c @implementation
public func st_training_args_validate(_ args: UnsafePointer<st_training_args>?) -> st_status {
    status {
        try TrainingArguments(try required(args, "st_training_args_validate", "args").pointee).validate()
    }
}

@c @implementation
public func st_loss_from_name(_ out: UnsafeMutablePointer<st_loss>?, _ name: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_loss_from_name"
        let kind = try LossKind(name: String(cString: try required(name, fn, "name")))
        try required(out, fn, "out").pointee = st_loss(rawValue: UInt32(kind.rawValue))
    }
}

/// The text of a fixed-size option field (it must hold a NUL).
private func readOption<T>(_ field: inout T, _ name: String) throws -> String {
    try withUnsafeBytes(of: &field) { raw in
        guard let end = raw.firstIndex(of: 0) else {
            throw SwiftTrainError(.invalidArgument, "st_training_args.\(name) is not NUL-terminated")
        }
        return String(decoding: raw[..<end], as: UTF8.self)
    }
}

/// Writes `text` into a fixed-size option field, or throws when it does not fit.
private func writeOption<T>(_ text: String, into field: inout T, _ name: String, capacity: String = "ST_OPTIONS_CAPACITY") throws {
    let bytes = Array(text.utf8)
    try withUnsafeMutableBytes(of: &field) { raw in
        guard bytes.count < raw.count else {
            throw SwiftTrainError(.invalidArgument, "\(name) is \(bytes.count) bytes; at most \(raw.count - 1) fit (\(capacity))")
        }
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
}
