/// The events a trainer fires, in the C API's numbering (`st_event`; values are stable and
/// only appended). docs/events.md gives the order and the names in other trainers.
public enum TrainerEvent: Int32, Sendable, CaseIterable {
    case trainBegin = 0
    case epochBegin = 1
    case stepBegin = 2
    case stepEnd = 3
    case log = 4
    case evaluate = 5
    case epochEnd = 6
    case trainEnd = 7
    /// Once, before the trainer's first train, evaluate or predict.
    case initEnd = 8
    case beforeDataloader = 9
    case afterDataloader = 10
    case beforeForward = 11
    case afterForward = 12
    case beforeLoss = 13
    case afterLoss = 14
    case beforeBackward = 15
    case afterBackward = 16
    /// After each micro-batch of an optimizer step but the last.
    case substepEnd = 17
    /// After clipping, before the optimizer updates the parameters.
    case preOptimizerStep = 18
    case optimizerStep = 19
    case evaluateBegin = 20
    /// After each batch of an evaluation or a prediction.
    case predictionStep = 21
    case predictBegin = 22
    case predict = 23
    /// An error stopped training; fired before `close`, and the error is rethrown.
    case exception = 24
    /// The last event of every train(), whether it succeeded or not.
    case close = 25
    /// After a checkpoint was written (state.bestModelCheckpoint and the directory are
    /// complete on disk).
    case save = 26

    /// HuggingFace's TrainerCallback method name ("on_step_end"), in the same style for the
    /// events HF does not have ("on_before_forward").
    public var hfName: String {
        switch self {
        case .trainBegin: "on_train_begin"
        case .epochBegin: "on_epoch_begin"
        case .stepBegin: "on_step_begin"
        case .stepEnd: "on_step_end"
        case .log: "on_log"
        case .evaluate: "on_evaluate"
        case .epochEnd: "on_epoch_end"
        case .trainEnd: "on_train_end"
        case .initEnd: "on_init_end"
        case .beforeDataloader: "on_before_dataloader"
        case .afterDataloader: "on_after_dataloader"
        case .beforeForward: "on_before_forward"
        case .afterForward: "on_after_forward"
        case .beforeLoss: "on_before_loss"
        case .afterLoss: "on_after_loss"
        case .beforeBackward: "on_before_backward"
        case .afterBackward: "on_after_backward"
        case .substepEnd: "on_substep_end"
        case .preOptimizerStep: "on_pre_optimizer_step"
        case .optimizerStep: "on_optimizer_step"
        case .evaluateBegin: "on_evaluate_begin"
        case .predictionStep: "on_prediction_step"
        case .predictBegin: "on_predict_begin"
        case .predict: "on_predict"
        case .exception: "on_exception"
        case .close: "on_close"
        case .save: "on_save"
        }
    }

    var bit: UInt32 { 1 << UInt32(rawValue) }
}

/// A set of events a callback subscribes to (bit `1 << event.rawValue`).
public struct EventMask: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ event: TrainerEvent) { rawValue = 1 << UInt32(event.rawValue) }
    public static let all = EventMask(rawValue: .max)
    public func contains(_ event: TrainerEvent) -> Bool { rawValue & (1 << UInt32(event.rawValue)) != 0 }
}

/// What callbacks see of a training run (HF TrainerState).
public struct TrainerState: Sendable {
    /// Fractional epoch: 1.5 is half way through the second epoch.
    public var epoch = 0.0
    /// Optimizer updates done.
    public var globalStep = 0
    public var maxSteps = 0
    public var numTrainEpochs = 0
    public var trainBatchSize = 0
    public var loggingSteps = 0
    public var evalSteps = 0
    /// Mean loss of the last optimizer step (NaN before the first).
    public var loss = Double.nan
    /// The learning rate the next optimizer step will use.
    public var learningRate = 0.0
    /// Global gradient norm of the last step before clipping (NaN when clipping is off).
    public var gradNorm = Double.nan
    /// Micro-batches processed (forward and backward passes), counting accumulation.
    public var microStep = 0
    public var saveSteps = 0
    /// Estimated floating-point operations so far (6 x parameters x samples, as HF).
    public var totalFlos = 0.0
    public var bestMetric: Double? = nil
    public var bestGlobalStep: Int? = nil
    public var bestModelCheckpoint: String? = nil
    /// Always true: swifttrain trains in one process.
    public var isLocalProcessZero = true
    public var isWorldProcessZero = true
    /// Optimizer steps skipped because the gradient norm was not finite
    /// (nonfinite_grad_norm "skip").
    public var skippedSteps = 0
    /// The number of batches of the evaluation or prediction in progress (HF's
    /// len(eval_dataloader), for progress bars); 0 outside one.
    public var evalBatches = 0
    /// Every logged entry, each with its "step" (HF log_history).
    public var logHistory: [Metrics] = []
}

/// What callbacks may change (HF TrainerControl). `shouldTrainingStop` is sticky.
public struct TrainerControl: Sendable, Equatable {
    public var shouldTrainingStop = false
    public var shouldEpochStop = false
    public var shouldSave = false
    public var shouldEvaluate = false
    public var shouldLog = false
    public init() {}
}

/// A callback: sees the event, the state and (for log and evaluate) the metrics, and may
/// change the control flags. Throwing aborts training with that error.
public typealias TrainerCallback = (TrainerEvent, TrainerState, inout TrainerControl, Metrics?) throws -> Void
