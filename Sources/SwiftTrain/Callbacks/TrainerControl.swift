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

/// A callback that also sees (and where allowed replaces) the event's data: the batch,
/// outputs, loss, optimizer and schedule (`EventData`). Throwing aborts training with that
/// error.
public typealias EventCallback = (EventData, TrainerState, inout TrainerControl) throws -> Void
