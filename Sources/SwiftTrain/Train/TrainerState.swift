/// The events a trainer fires, in the C API's numbering (`st_event`).
public enum TrainerEvent: Int32, Sendable, CaseIterable {
    case trainBegin = 0
    case epochBegin = 1
    case stepBegin = 2
    case stepEnd = 3
    case log = 4
    case evaluate = 5
    case epochEnd = 6
    case trainEnd = 7

    /// HuggingFace's TrainerCallback method name ("on_step_end").
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
        }
    }
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
    /// Optimizer steps skipped because the gradient norm was not finite
    /// (nonfinite_grad_norm "skip").
    public var skippedSteps = 0
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
