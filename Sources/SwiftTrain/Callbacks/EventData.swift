/// What a callback sees of the run at one event besides the state and the control flags:
/// HF's keyword arguments (model, optimizer, lr_scheduler, logs / metrics) and Composer's
/// `State` (the batch, the outputs, the loss), which a callback may replace where Composer
/// lets an algorithm do so:
///
/// - `batch`: at AFTER_DATALOADER (the batch just fetched) and BEFORE_FORWARD (the
///   micro-batch about to be forwarded); the replacement is used as it is. One replaced at
///   AFTER_DATALOADER counts in the step's number of examples and label items (the loss's
///   normalisation); one replaced at BEFORE_FORWARD is normalised by the original counts.
///   In evaluation and prediction, at EVALUATE_BEFORE_FORWARD / PREDICT_BEFORE_FORWARD,
///   keeping its number of samples;
/// - `outputs`: at AFTER_FORWARD and BEFORE_LOSS, before the loss is computed from them, and
///   at EVALUATE_AFTER_FORWARD / PREDICT_AFTER_FORWARD, before metrics and predictions are;
/// - `loss`: at AFTER_LOSS and BEFORE_BACKWARD; it must be a float32 scalar, and it is what
///   is backpropagated and logged;
/// - gradients: at AFTER_BACKWARD and PRE_OPTIMIZER_STEP, in place (`model.parameters[i].grad`).
///
/// Elsewhere the values are read-only (a change is ignored). One object per trainer, reused
/// for every event (no allocation per event); do not keep it beyond the callback.
public final class EventData {
    /// The event being dispatched.
    public internal(set) var event: TrainerEvent = .initEnd
    /// Its number (Trainer.eventSerial when it was dispatched): the same for every callback
    /// of the event, even when another event is dispatched from one of them.
    public internal(set) var serial: UInt64 = 0
    /// LOG: the logged values; EVALUATE: the evaluation's metrics; PREDICT: the test
    /// metrics; nil at other events.
    public internal(set) var metrics: Metrics?
    /// The optimizer and the learning-rate schedule of the training in progress (nil outside
    /// train(); the schedule is nil with reduce_lr_on_plateau).
    public internal(set) var optimizer: Optimizer?
    public internal(set) var lrSchedule: LRSchedule?
    /// The batch being used: during a step, from AFTER_DATALOADER to STEP_END (the last
    /// micro-batch); during evaluation and prediction, from each batch's BATCH_BEGIN to its
    /// PREDICTION_STEP.
    public var batch: Batch? {
        get { materializePlanned(); return storedBatch }
        set { materializePlanned(); storedBatch = newValue }
    }
    /// The model's outputs of `batch`, from AFTER_FORWARD (EVALUATE_ / PREDICT_AFTER_FORWARD
    /// in evaluation and prediction).
    public var outputs: ModelOutput? {
        get { materializePlanned(); return storedOutputs }
        set { materializePlanned(); storedOutputs = newValue }
    }
    /// The loss of `batch`, from AFTER_LOSS.
    public var loss: Tensor? {
        get { materializePlanned(); return storedLoss }
        set { materializePlanned(); storedLoss = newValue }
    }
    private var storedBatch: Batch?, storedOutputs: ModelOutput?, storedLoss: Tensor?
    /// A planned step's last piece, whose batch, outputs and loss are made (as tensors over
    /// the plan's buffers) only when a callback reads them: a step nobody looks at allocates
    /// nothing.
    private var planned: PlannedStep?

    /// The step's data is the planned step's last piece.
    func setPlanned(_ plan: PlannedStep) {
        (storedBatch, storedOutputs, storedLoss) = (nil, nil, nil)
        planned = plan
    }

    private func materializePlanned() {
        guard let plan = planned else { return }
        planned = nil
        (storedBatch, storedOutputs, storedLoss) = plan.lastPiece()
    }
    /// EXCEPTION: the error that stops the run.
    public internal(set) var error: (any Error)?

    init() {}

    /// Forgets the step's batch, outputs and loss (so their memory is not held).
    func clearStep() {
        planned = nil
        (storedBatch, storedOutputs, storedLoss) = (nil, nil, nil)
    }

    /// The loss a callback left, checked: a float32 scalar.
    func checkedLoss(_ computed: Tensor) throws -> Tensor {
        guard let l = loss else { return computed }
        guard l.dtype == .float32, l.count == 1 else {
            throw SwiftTrainError.invalid("a callback replaced the loss with a \(l.dtype) tensor of shape \(l.shape) at "
                + "on_after_loss / on_before_backward; the loss must be a float32 scalar")
        }
        return l
    }
}
