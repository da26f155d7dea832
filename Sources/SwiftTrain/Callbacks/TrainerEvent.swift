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
    /// Composer's BEFORE_LOAD / AFTER_LOAD: around restoring a checkpoint, when train()
    /// resumes from one (before TRAIN_BEGIN).
    case beforeLoad = 27
    case afterLoad = 28
    /// Composer's BEFORE_TRAIN_BATCH: the step's batches are fetched, before the first
    /// micro-batch's forward.
    case beforeTrainBatch = 29
    /// Composer's BATCH_CHECKPOINT: the step is complete, after its STEP_END, LOG,
    /// EVALUATE and SAVE.
    case stepCheckpoint = 30
    /// Composer's EPOCH_CHECKPOINT (AllenNLP's and PyMarlin's epoch callbacks): the epoch
    /// is complete, after its EPOCH_END, evaluation and save; `metrics` holds the
    /// evaluation of the epoch's end, when there was one.
    case epochCheckpoint = 31
    /// Composer's EVAL_BEFORE_ALL / EVAL_AFTER_ALL: around the evaluation of every
    /// evaluation dataset; AFTER_ALL's `metrics` holds all of their metrics.
    case evaluateBeforeAll = 32
    case evaluateAfterAll = 33
    /// Composer's EVAL_BATCH_START, EVAL_BEFORE_FORWARD, EVAL_AFTER_FORWARD: each batch of
    /// an evaluation; a callback may replace the batch before the forward and the outputs
    /// after it.
    case evaluateBatchBegin = 34
    case evaluateBeforeForward = 35
    case evaluateAfterForward = 36
    /// The same for each batch of a prediction (Composer's PREDICT_BATCH_START, ...).
    case predictBatchBegin = 37
    case predictBeforeForward = 38
    case predictAfterForward = 39
    /// Composer's EVAL_STANDALONE_START / _END: around an evaluate() called outside
    /// training; END's `metrics` holds what evaluate() returns.
    case evaluateStandaloneBegin = 40
    case evaluateStandaloneEnd = 41
    /// Composer's post_close: after every callback's CLOSE, the last event of a train().
    case postClose = 42

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
        case .beforeLoad: "on_before_load"
        case .afterLoad: "on_after_load"
        case .beforeTrainBatch: "on_before_train_batch"
        case .stepCheckpoint: "on_step_checkpoint"
        case .epochCheckpoint: "on_epoch_checkpoint"
        case .evaluateBeforeAll: "on_evaluate_before_all"
        case .evaluateAfterAll: "on_evaluate_after_all"
        case .evaluateBatchBegin: "on_evaluate_batch_begin"
        case .evaluateBeforeForward: "on_evaluate_before_forward"
        case .evaluateAfterForward: "on_evaluate_after_forward"
        case .predictBatchBegin: "on_predict_batch_begin"
        case .predictBeforeForward: "on_predict_before_forward"
        case .predictAfterForward: "on_predict_after_forward"
        case .evaluateStandaloneBegin: "on_evaluate_standalone_begin"
        case .evaluateStandaloneEnd: "on_evaluate_standalone_end"
        case .postClose: "on_post_close"
        }
    }

    /// EXCEPTION, CLOSE and POST_CLOSE: every callback of these runs even when one fails
    /// (the first error is reported after all have run).
    public var isTeardown: Bool { self == .exception || self == .close || self == .postClose }

    var bit: UInt64 { 1 << UInt64(rawValue) }
}

/// A set of events a callback subscribes to (bit `1 << event.rawValue`).
public struct EventMask: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ event: TrainerEvent) { rawValue = 1 << UInt64(event.rawValue) }
    public static let all = EventMask(rawValue: .max)
    public func contains(_ event: TrainerEvent) -> Bool { rawValue & (1 << UInt64(event.rawValue)) != 0 }
}
