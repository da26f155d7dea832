import Synchronization

/// Trains a model on a dataset: epochs of seeded-shuffled batches, forward, loss, backward,
/// clipping, an optimizer step and a learning-rate schedule, with evaluation and callbacks
/// at HuggingFace's points (docs/events.md has the order). The training loop is in
/// Trainer+Train.swift, evaluation and prediction in Trainer+Evaluate.swift.
public final class Trainer {
    public let model: Module
    /// The built-in loss, applied to the logits when the model returns no loss and there is
    /// no computeLoss.
    public let loss: LossKind
    public let args: TrainingArguments
    /// A loss of the user's in place of the built-in one and of the model's (HF's
    /// compute_loss_func): called per micro-batch with the outputs, the batch and HF's
    /// num_items_in_batch (the label items of the whole optimizer step). As in HF, its result
    /// is used as it is, once per micro-batch: under gradient accumulation return the sum of
    /// the micro-batch's item losses divided by num_items_in_batch (with one micro-batch per
    /// step that is the mean).
    public var computeLoss: ComputeLoss?
    /// The training data: an in-memory `Dataset` or any map-style or iterable `DataSource`.
    public var trainDataset: DataSource?
    /// The evaluation datasets, in order: one unnamed (metrics "eval_loss", ...) or several
    /// named ones (metrics "eval_<name>_loss", ...), as HF's eval_dataset dict.
    public internal(set) var evalDatasets: [(name: String?, dataset: DataSource)] = []
    /// The unnamed evaluation dataset; setting it replaces every evaluation dataset (nil
    /// clears them all).
    public var evalDataset: DataSource? {
        get { evalDatasets.count == 1 && evalDatasets[0].name == nil ? evalDatasets[0].dataset : nil }
        set { evalDatasets = newValue.map { [(nil, $0)] } ?? [] }
    }
    /// Extra metrics computed from every evaluation's predictions and labels (HF's
    /// compute_metrics). They follow the built-in ones and replace a built-in of the same name.
    public var computeMetrics: ComputeMetrics?
    public internal(set) var state = TrainerState()
    var control = TrainerControl()
    var callbacks: [RegisteredCallback] = []
    var nextCallbackID = 1
    /// Events some callback subscribed to, plus the ones the built-in flow needs.
    var listened: UInt64 = TrainerEvent.stepEnd.bit | TrainerEvent.epochEnd.bit
    var initEndFired = false
    /// The optimizer steps of the last train() that ran through the planned step (PlannedStep).
    public internal(set) var plannedSteps = 0
    /// The processes of the last train() in data-parallel training; nil alone.
    public internal(set) var processGroup: ProcessGroup?
    /// Data-parallel training: the stop request the processes agreed on (agreeOnControl).
    var agreedStopRequest = 0
    /// Records where planned steps spend their time while set (bench/).
    @_spi(Profiling) public var stepProfile: StepProfile?
    /// Numbers the events this trainer dispatched, from 1: every callback of one event sees
    /// the same number, so a face can build its view of the state once per event.
    public internal(set) var eventSerial: UInt64 = 0
    /// The data callbacks see, one object reused for every event.
    public let eventData = EventData()
    /// How many events are being dispatched (an event fired from a callback nests).
    var dispatchDepth = 0
    /// Values a callback logged, recorded when the current event's callbacks are done.
    var pendingLogs: [Metrics] = []
    /// A stop asked for from outside the loop (requestStop): 0 none, 1 stop, 2 stop and save.
    let stopRequest = Atomic<Int>(0)
    var running = false
    /// Whether train(), evaluate() or predict() is running (a callback sees true).
    public var isRunning: Bool { running }
    /// The moving average of the weights of the last training (nil without ema_decay);
    /// evaluation and prediction use the averaged weights.
    public internal(set) var movingAverage: MovingAverage?
    /// Called with each evaluation's metrics during training (drives reduce_lr_on_plateau).
    var afterEvaluation: ((Metrics) throws -> Void)?
    /// State that callbacks save in checkpoints and get back on resume, by name.
    var callbackStates: [CallbackState] = []
    /// HF's overridable Trainer.log (Trainer+Overrides.swift): when set, every log the trainer
    /// emits goes to it instead of the log history; it records what it wants with `log(_:)`.
    public var logFunction: ((Metrics) throws -> Void)?
    /// HF's overridable Trainer.evaluate (Trainer+Overrides.swift): when set, the evaluations
    /// during training call it; it evaluates with `evaluate(_:metricKeyPrefix:)` (or not) and
    /// returns the metrics that best-model tracking and early stopping then see.
    public var evaluateFunction: (() throws -> Metrics)?
    var inLogFunction = false, inEvaluateFunction = false
    /// HF's optimizers=(optimizer, scheduler): what train() uses instead of making its own
    /// from the arguments (nil: made from them). See setOptimizer.
    public internal(set) var givenOptimizer: Optimizer?
    public internal(set) var givenSchedule: LRSchedule?
    /// HF's create_optimizer_and_scheduler(num_training_steps): when set, train() calls it
    /// with the run's number of optimizer steps before training and trains with what it
    /// returns, as with setOptimizer (nil: made from the arguments).
    public var optimizerFunction: ((Int) throws -> (Optimizer?, LRSchedule?))?
    /// The checkpoint the last train() resumed from, and any newer ones it passed over as
    /// damaged (nil when it started fresh).
    public internal(set) var lastResumedFrom: String?

    /// Where train(resumeFrom:) continues from (HF's resume_from_checkpoint).
    public enum ResumeFrom: Sendable, Equatable {
        /// This checkpoint directory; it must verify.
        case checkpoint(String)
        /// The newest checkpoint in output_dir that verifies; damaged newer ones are
        /// passed over (and named in lastResumedFrom).
        case latest
    }

    /// How this trainer's micro-batches get their loss.
    var losses: LossResolver {
        LossResolver(kind: loss, custom: computeLoss, labelSmoothing: Float(args.labelSmoothingFactor))
    }

    public init(model: Module, loss: LossKind = .crossEntropy, args: TrainingArguments) throws {
        try args.validate()
        guard model.nestingDepth <= Sequential.maxNesting else {
            throw SwiftTrainError.invalid("the model's modules nest more than \(Sequential.maxNesting) deep, or a module "
                + "contains itself (a stored reference back to a parent module); remove the reference")
        }
        self.model = model
        self.loss = loss
        self.args = args
        // Under mpirun the process knows its place before training (HF reads it from the
        // launcher's environment too): only process 0 logs and writes in evaluate or predict.
        if let (rank, size) = ProcessGroup.launcherWorld(backend: args.ddpBackend) {
            (state.worldSize, state.processIndex, state.isWorldProcessZero) = (size, rank, rank == 0)
            state.isLocalProcessZero = ProcessGroup.launcherLocalRank == 0
        }
    }

    /// Appends to the log history (with "step") and fires `.log`.
    func record(_ logs: Metrics) throws {
        var entry = logs
        entry["step"] = Double(state.globalStep)
        state.logHistory.append(entry)
        try fire(.log, metrics: logs)
    }

    func enter(_ what: String) throws {
        guard !running else {
            throw SwiftTrainError.misuse("\(what)() was called from inside a callback of the same trainer; call it after train() returns")
        }
        running = true
        pendingLogs.removeAll()  // values logged in a run that failed before they were recorded
    }
}
