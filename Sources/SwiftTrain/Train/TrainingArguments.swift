/// Training configuration with HuggingFace TrainingArguments' names (in camelCase) and
/// defaults, for what applies here.
public struct TrainingArguments: Sendable, Equatable {
    public enum OptimizerKind: Int32, Sendable, CaseIterable { case adamw = 0, sgd = 1 }
    public enum SchedulerKind: Int32, Sendable, CaseIterable { case linear = 0, constant = 1 }
    public enum IntervalStrategy: Int32, Sendable, CaseIterable { case no = 0, steps = 1, epoch = 2 }

    public var numTrainEpochs = 3.0
    /// -1: derived from numTrainEpochs.
    public var maxSteps = -1
    public var perDeviceTrainBatchSize = 8
    public var perDeviceEvalBatchSize = 8
    public var optim = OptimizerKind.adamw
    public var learningRate = 5e-5
    public var weightDecay = 0.0
    public var adamBeta1 = 0.9
    public var adamBeta2 = 0.999
    public var adamEpsilon = 1e-8
    public var sgdMomentum = 0.0
    /// 0 disables clipping.
    public var maxGradNorm = 1.0
    public var lrSchedulerType = SchedulerKind.linear
    public var warmupSteps = 0
    public var loggingStrategy = IntervalStrategy.steps
    public var loggingSteps = 500
    public var loggingFirstStep = false
    public var evalStrategy = IntervalStrategy.no
    /// 0: same as loggingSteps.
    public var evalSteps = 0
    public var seed = 42
    /// -1: use seed.
    public var dataSeed = -1
    public var dataloaderDropLast = false

    public init() {}

    /// Throws `.invalidArgument` naming the first field with a nonsense value.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws {
            if !ok { throw SwiftTrainError.invalid("\(name) must be \(rule), got \(value)") }
        }
        try check(numTrainEpochs.isFinite && numTrainEpochs > 0 || maxSteps > 0, "num_train_epochs", numTrainEpochs, "> 0 (or set max_steps)")
        try check(maxSteps == -1 || maxSteps > 0, "max_steps", maxSteps, "positive, or -1 to use num_train_epochs")
        try check(perDeviceTrainBatchSize > 0, "per_device_train_batch_size", perDeviceTrainBatchSize, ">= 1")
        try check(perDeviceEvalBatchSize > 0, "per_device_eval_batch_size", perDeviceEvalBatchSize, ">= 1")
        try check(learningRate.isFinite && learningRate >= 0, "learning_rate", learningRate, "a finite number >= 0")
        try check(weightDecay.isFinite && weightDecay >= 0, "weight_decay", weightDecay, "a finite number >= 0")
        try check(adamBeta1 >= 0 && adamBeta1 < 1, "adam_beta1", adamBeta1, "in [0, 1)")
        try check(adamBeta2 >= 0 && adamBeta2 < 1, "adam_beta2", adamBeta2, "in [0, 1)")
        try check(adamEpsilon.isFinite && adamEpsilon >= 0, "adam_epsilon", adamEpsilon, "a finite number >= 0")
        try check(sgdMomentum.isFinite && sgdMomentum >= 0 && sgdMomentum < 1, "sgd_momentum", sgdMomentum, "in [0, 1)")
        try check(maxGradNorm.isFinite && maxGradNorm >= 0, "max_grad_norm", maxGradNorm, "a finite number >= 0 (0 disables clipping)")
        try check(warmupSteps >= 0, "warmup_steps", warmupSteps, ">= 0")
        try check(loggingSteps > 0, "logging_steps", loggingSteps, ">= 1")
        try check(evalSteps >= 0, "eval_steps", evalSteps, ">= 1 (or 0 to use logging_steps)")
        try check(dataSeed >= -1, "data_seed", dataSeed, ">= 0 (or -1 to use seed)")
    }

    /// The evaluation interval in steps: evalSteps, or loggingSteps when it is 0.
    public var resolvedEvalSteps: Int { evalSteps > 0 ? evalSteps : loggingSteps }

    /// The seed of the data order.
    public var resolvedDataSeed: UInt64 { UInt64(bitPattern: Int64(dataSeed >= 0 ? dataSeed : seed)) }
}
