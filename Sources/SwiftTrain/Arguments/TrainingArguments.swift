/// Training configuration with HuggingFace TrainingArguments' names (in camelCase) and
/// defaults, for what applies here, plus clearly named additions for what HF lacks
/// (EMA, clipping by value, a momentum schedule, automatic micro-batching).
public struct TrainingArguments: Sendable, Equatable {
    /// Values match the C API's st_optimizer.
    public enum OptimizerKind: Int32, Sendable, CaseIterable {
        case adamw = 0, sgd = 1, adam = 2, adagrad = 3, rmsprop = 4, adadelta = 5, lion = 6
    }
    /// Values match the C API's st_lr_scheduler.
    public enum SchedulerKind: Int32, Sendable, CaseIterable {
        case linear = 0, constant = 1, constantWithWarmup = 2, cosine = 3, cosineWithRestarts = 4, polynomial = 5
        case inverseSqrt = 6, reduceLROnPlateau = 7, cosineWithMinLR = 8, warmupStableDecay = 9, step = 10, exponential = 11
    }
    public enum IntervalStrategy: Int32, Sendable, CaseIterable { case no = 0, steps = 1, epoch = 2 }
    /// When checkpoints are written; `best` whenever an evaluation finds a new best metric.
    public enum SaveStrategy: Int32, Sendable, CaseIterable { case no = 0, steps = 1, epoch = 2, best = 3 }
    /// What to do when the gradient norm is NaN or infinite.
    public enum NonFiniteGradPolicy: Int32, Sendable, CaseIterable { case error = 0, skip = 1 }
    public enum MomentumSchedulerKind: Int32, Sendable, CaseIterable { case none = 0, invertedTriangular = 1 }

    public var numTrainEpochs = 3.0
    /// -1: derived from numTrainEpochs.
    public var maxSteps = -1
    public var perDeviceTrainBatchSize = 8
    public var perDeviceEvalBatchSize = 8
    public var gradientAccumulationSteps = 1
    /// Addition (PyMarlin's gpu batch size limit): batches larger than this are split into
    /// micro-batches that give the same update. 0: never split.
    public var maxMicroBatchSize = 0
    public var optim = OptimizerKind.adamw
    /// HF's optim_args: "key=value,key=value" for the optimizer (momentum, nesterov, amsgrad, ...).
    public var optimArgs = ""
    public var learningRate = 5e-5
    public var weightDecay = 0.0
    public var adamBeta1 = 0.9
    public var adamBeta2 = 0.999
    public var adamEpsilon = 1e-8
    /// SGD / RMSprop momentum (also settable through optimArgs "momentum=").
    public var sgdMomentum = 0.0
    /// 0 disables norm clipping.
    public var maxGradNorm = 1.0
    /// Addition (AllenNLP's grad_clipping): clamp every gradient element to [-v, v]; 0 disables.
    public var maxGradValue = 0.0
    public var nonFiniteGradNorm = NonFiniteGradPolicy.error
    public var lrSchedulerType = SchedulerKind.linear
    /// HF's lr_scheduler_kwargs as "key=value,key=value" (num_cycles, power, lr_end, min_lr, ...).
    public var lrSchedulerKwargs = ""
    /// Warmup steps; a value below 1 is a ratio of the total steps (HF v5).
    public var warmupSteps = 0.0
    /// Warmup as a ratio of the total steps (HF v4), used when warmupSteps is 0.
    public var warmupRatio = 0.0
    /// Addition (AllenNLP's moving average): EMA decay of the weights; 0 disables.
    public var emaDecay = 0.0
    /// Addition: AllenNLP's momentum scheduler, stepped per epoch.
    public var momentumSchedulerType = MomentumSchedulerKind.none
    /// "key=value,..." for the momentum scheduler (cool_down, warm_up, ratio).
    public var momentumSchedulerKwargs = ""
    public var loggingStrategy = IntervalStrategy.steps
    /// A value below 1 is a ratio of the total steps (HF).
    public var loggingSteps = 500.0
    public var loggingFirstStep = false
    /// Replace a NaN or infinite step loss by the average since the last log (HF).
    public var loggingNanInfFilter = true
    public var evalStrategy = IntervalStrategy.no
    /// 0: same as loggingSteps; below 1: a ratio of the total steps.
    public var evalSteps = 0.0
    /// No evaluation before this many steps (or epochs, with eval_strategy "epoch").
    public var evalDelay = 0.0
    /// Evaluate once before training starts.
    public var evalOnStart = false
    /// HF: the metric best-model tracking follows ("accuracy" means "eval_accuracy"); ""
    /// is "loss" when load_best_model_at_end or early stopping needs one.
    public var metricForBestModel = ""
    /// HF: nil derives it from the metric's name (false for names ending in "loss").
    public var greaterIsBetter: Bool? = nil
    /// Keep the best weights seen at an evaluation and put them back when training ends.
    public var loadBestModelAtEnd = false
    /// Stop after this many evaluations without improvement (AllenNLP's patience, HF's
    /// EarlyStoppingCallback); 0 disables.
    public var earlyStoppingPatience = 0
    /// The least improvement that counts (HF's early_stopping_threshold).
    public var earlyStoppingThreshold = 0.0
    /// Where checkpoints go: output_dir/checkpoint-<global_step>/.
    public var outputDir = "trainer_output"
    public var saveStrategy = SaveStrategy.steps
    /// A value below 1 is a ratio of the total steps (HF).
    public var saveSteps = 500.0
    /// Keep at most this many checkpoints, deleting the oldest but never the best; 0 keeps all.
    public var saveTotalLimit = 0
    /// Checkpoints hold the model weights and the trainer state only (they cannot be resumed).
    public var saveOnlyModel = false
    /// Seeds the data order (with dataSeed -1) and, at the start of every train(), the
    /// default generator that dropout draws from (HF's set_seed at the beginning of training).
    public var seed = 42
    /// -1: use seed.
    public var dataSeed = -1
    public var dataloaderDropLast = false
    /// Addition (AllenNLP's data loader shuffle): false feeds a map-style training set in its
    /// own order every epoch.
    public var dataloaderShuffle = true
    /// HF: when resuming, start an iterable dataset's epoch from its beginning instead of
    /// skipping the batches the checkpointed run had used (map-style sets resume exactly anyway).
    public var ignoreDataSkip = false
    /// HF: the batch entries that are labels; the others are the model's inputs.
    public var labelNames = ["labels"]
    /// HF: label smoothing of the built-in cross_entropy loss, in [0, 1).
    public var labelSmoothingFactor = 0.0
    /// HF: where logged values go besides the log history: "none", "tensorboard" (event files
    /// under `loggingDir`), or "all" (every integration the library has: TensorBoard).
    public var reportTo = ["none"]
    /// HF: the TensorBoard directory; empty: output_dir/runs/<Mon>DD_HH-MM-SS_<host> (HF's
    /// default), fixed when training starts.
    public var loggingDir = ""

    /// HF's ddp_backend: how processes started together train together (data parallel, one
    /// model copy per process, gradients averaged every step). "" (the default): over MPI when
    /// an MPI launcher started more than one process (`mpirun -np N`), else alone; "mpi": over
    /// MPI (an error when Open MPI cannot be loaded); "none": alone, whatever the launcher.
    public var ddpBackend = ""
    /// The values `ddpBackend` accepts.
    public static let ddpBackends = ["", "mpi", "none"]
    /// HF's ddp_timeout: seconds a collective may go without progress before the job is ended
    /// (MPI_Abort, naming the rank): a process that hangs would otherwise keep the others
    /// waiting forever. 0: wait forever (an addition).
    public var ddpTimeout = 1800.0
    /// HF's ddp_bucket_cap_mb: a model whose gradients take at most this many megabytes (2^20
    /// bytes) sums them in one message after the backward pass; a larger one sums each
    /// parameter's gradient as soon as the backward pass has made it, overlapping the rest of
    /// the pass. 0 (HF's None): 4 MB (torch's default is 25; docs/distributed.md).
    public var ddpBucketCapMB = 0.0
    /// The gradient floats summed in one message at most (ddp_bucket_cap_mb).
    public var ddpBucketFloats: Int { Int((ddpBucketCapMB > 0 ? ddpBucketCapMB : 4) * 1_048_576 / 4) }

    /// HF's fields without a property of their own (run_name, do_train, dataloader_num_workers,
    /// ...; `ArgumentField.isKept`) that were set to a value other than HF's default, by name:
    /// kept so training_args.json holds them. Set them with `set(name, value)`; read with `kept(name)`.
    public var keptFields: [String: JSONValue] = [:]

    /// The names `reportTo` accepts.
    public static let reportTargets = ["none", "all", "tensorboard"]

    /// Whether TensorBoard event files are written.
    public var reportsToTensorBoard: Bool { reportTo.contains("tensorboard") || reportTo.contains("all") }

    public init() {}

    /// Throws `.invalidArgument` naming the first field with a nonsense value.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws {
            if !ok { throw SwiftTrainError.invalid("\(name) must be \(rule), got \(value)") }
        }
        let limit = 1 << 40  // steps, batch sizes and epochs beyond this are mistakes, and would overflow
        try check(numTrainEpochs.isFinite && numTrainEpochs > 0 && numTrainEpochs < Double(limit) || maxSteps > 0,
                  "num_train_epochs", numTrainEpochs, "> 0 and < 2^40 (or set max_steps)")
        try check(maxSteps == -1 || (maxSteps > 0 && maxSteps <= limit), "max_steps", maxSteps, "in [1, 2^40], or -1 to use num_train_epochs")
        try check(perDeviceTrainBatchSize > 0 && perDeviceTrainBatchSize <= limit, "per_device_train_batch_size", perDeviceTrainBatchSize, "in [1, 2^40]")
        try check(perDeviceEvalBatchSize > 0 && perDeviceEvalBatchSize <= limit, "per_device_eval_batch_size", perDeviceEvalBatchSize, "in [1, 2^40]")
        try check(learningRate.isFinite && learningRate >= 0, "learning_rate", learningRate, "a finite number >= 0")
        try check(weightDecay.isFinite && weightDecay >= 0, "weight_decay", weightDecay, "a finite number >= 0")
        try check(adamBeta1 >= 0 && adamBeta1 < 1, "adam_beta1", adamBeta1, "in [0, 1)")
        try check(adamBeta2 >= 0 && adamBeta2 < 1, "adam_beta2", adamBeta2, "in [0, 1)")
        try check(adamEpsilon.isFinite && adamEpsilon >= 0, "adam_epsilon", adamEpsilon, "a finite number >= 0")
        try check(sgdMomentum.isFinite && sgdMomentum >= 0 && sgdMomentum < 1, "sgd_momentum", sgdMomentum, "in [0, 1)")
        try check(maxGradNorm.isFinite && maxGradNorm >= 0, "max_grad_norm", maxGradNorm, "a finite number >= 0 (0 disables clipping)")
        try check(maxGradValue.isFinite && maxGradValue >= 0, "max_grad_value", maxGradValue, "a finite number >= 0 (0 disables)")
        try check(warmupSteps.isFinite && warmupSteps >= 0 && warmupSteps <= Double(limit)
                    && (warmupSteps < 1 || warmupSteps.rounded() == warmupSteps),
                  "warmup_steps", warmupSteps, "a whole number of steps (at most 2^40), or a ratio in [0, 1)")
        try check(warmupRatio >= 0 && warmupRatio < 1, "warmup_ratio", warmupRatio, "in [0, 1)")
        try check(gradientAccumulationSteps >= 1 && gradientAccumulationSteps <= limit, "gradient_accumulation_steps",
                  gradientAccumulationSteps, "in [1, 2^40]")
        try check(maxMicroBatchSize >= 0 && maxMicroBatchSize <= limit, "max_micro_batch_size", maxMicroBatchSize, "in [0, 2^40] (0: never split)")
        try check(emaDecay >= 0 && emaDecay < 1, "ema_decay", emaDecay, "in [0, 1) (0 disables)")
        func steps(_ v: Double) -> Bool { v.isFinite && v > 0 && v <= Double(limit) && (v < 1 || v.rounded() == v) }
        try check(steps(loggingSteps), "logging_steps", loggingSteps, "a whole number in [1, 2^40] or a ratio in (0, 1)")
        try check(evalSteps == 0 || steps(evalSteps), "eval_steps", evalSteps,
                  "a whole number in [1, 2^40], a ratio in (0, 1), or 0 to use logging_steps")
        try check(steps(saveSteps), "save_steps", saveSteps, "a whole number in [1, 2^40] or a ratio in (0, 1)")
        try check(saveTotalLimit >= 0 && saveTotalLimit <= limit, "save_total_limit", saveTotalLimit, ">= 0 (0 keeps every checkpoint)")
        try check(saveStrategy == .no || !outputDir.isEmpty, "output_dir", "\"\"", "a directory when save_strategy is not 'no'")
        try check(saveStrategy != .best || evalStrategy != .no, "save_strategy", "best",
                  "used with an eval_strategy other than 'no' (it saves when an evaluation finds a new best)")
        try check(evalDelay.isFinite && evalDelay >= 0 && evalDelay <= Double(limit), "eval_delay", evalDelay, ">= 0")
        try check(earlyStoppingPatience >= 0 && earlyStoppingPatience <= limit, "early_stopping_patience",
                  earlyStoppingPatience, ">= 0 (0 disables)")
        try check(earlyStoppingThreshold.isFinite && earlyStoppingThreshold >= 0, "early_stopping_threshold",
                  earlyStoppingThreshold, "a finite number >= 0")
        try check(!(loadBestModelAtEnd || earlyStoppingPatience > 0) || evalStrategy != .no,
                  loadBestModelAtEnd ? "load_best_model_at_end" : "early_stopping_patience", true,
                  "used with an eval_strategy other than 'no' (they follow evaluation results)")
        try check(dataSeed >= -1, "data_seed", dataSeed, ">= 0 (or -1 to use seed)")
        try check(labelSmoothingFactor >= 0 && labelSmoothingFactor < 1, "label_smoothing_factor", labelSmoothingFactor, "in [0, 1)")
        try check(!labelNames.isEmpty && labelNames.allSatisfy { !$0.isEmpty && !$0.contains(",") }
                    && Set(labelNames).count == labelNames.count,
                  "label_names", labelNames, "distinct non-empty names without commas")
        try check(!reportTo.isEmpty && reportTo.allSatisfy(Self.reportTargets.contains)
                    && (reportTo.count == 1 || !reportTo.contains("none")),
                  "report_to", reportTo.joined(separator: ","),
                  "one or more of \(Self.reportTargets.joined(separator: ", ")) ('none' alone)")
        try check(Self.ddpBackends.contains(ddpBackend), "ddp_backend", ddpBackend,
                  "'mpi' or 'none' (or empty: MPI when started by an MPI launcher)")
        try check(ddpTimeout.isFinite && ddpTimeout >= 0, "ddp_timeout", ddpTimeout, "a number of seconds >= 0 (0: wait forever)")
        try check(ddpBucketCapMB.isFinite && ddpBucketCapMB >= 0 && ddpBucketCapMB < 1e9, "ddp_bucket_cap_mb", ddpBucketCapMB,
                  "a number of megabytes > 0 (or None / 0: 4)")
        _ = try OptionList(optimArgs, "optim_args")
        _ = try OptionList(lrSchedulerKwargs, "lr_scheduler_kwargs")
        _ = try OptionList(momentumSchedulerKwargs, "momentum_scheduler_kwargs")
    }

    /// Warmup in steps for a run of `total` optimizer steps; throws when it is not shorter.
    public func resolvedWarmup(total: Int) throws -> Int {
        let w = warmupSteps >= 1 ? Int(warmupSteps)
            : Int((Double(total) * (warmupSteps > 0 ? warmupSteps : warmupRatio)).rounded(.up))
        guard w == 0 || w < total else {
            throw SwiftTrainError.invalid("warmup of \(w) steps is not shorter than the \(total) training steps; "
                + "lower warmup_steps / warmup_ratio or train longer")
        }
        return w
    }

    /// A *_steps value for a run of `total` steps: a ratio below 1 becomes ceil(total * x) (HF).
    static func resolved(_ steps: Double, total: Int) -> Int {
        steps < 1 ? Swift.max(1, Int((Double(total) * steps).rounded(.up))) : Int(steps)
    }

    /// The logging interval in steps for a run of `total` steps.
    public func resolvedLoggingSteps(total: Int) -> Int { Self.resolved(loggingSteps, total: total) }

    /// The checkpoint interval in steps for a run of `total` steps.
    public func resolvedSaveSteps(total: Int) -> Int { Self.resolved(saveSteps, total: total) }

    /// The evaluation interval in steps: evalSteps, or loggingSteps when it is 0.
    public func resolvedEvalSteps(total: Int) -> Int { Self.resolved(evalSteps > 0 ? evalSteps : loggingSteps, total: total) }

    /// The evaluation metric best-model tracking follows ("eval_loss", ...), nil when nothing
    /// needs one. HF: metric_for_best_model, "loss" by default when load_best_model_at_end
    /// (or early stopping) is on; the "eval_" prefix is added.
    public var bestModelMetric: String? {
        let needed = loadBestModelAtEnd || earlyStoppingPatience > 0 || saveStrategy == .best
        let name = metricForBestModel.isEmpty ? (needed ? "loss" : nil)
            : metricForBestModel
        return name.map { $0.hasPrefix("eval_") ? $0 : "eval_" + $0 }
    }

    /// Whether a larger value of the best-model metric is better (HF's default: unless its
    /// name ends in "loss").
    public var resolvedGreaterIsBetter: Bool { greaterIsBetter ?? !(bestModelMetric ?? "loss").hasSuffix("loss") }

    /// The seed of the data order.
    public var resolvedDataSeed: UInt64 { UInt64(bitPattern: Int64(dataSeed >= 0 ? dataSeed : seed)) }
}
