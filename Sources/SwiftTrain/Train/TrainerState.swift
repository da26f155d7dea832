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
    /// The processes training together (1 alone; `mpirun -np N` with data-parallel
    /// training, ProcessGroup) and this one's index among them, from 0.
    public var worldSize = 1
    public var processIndex = 0
    /// Whether this is the first process on its machine / of all (HF's; only the first of all
    /// logs, shows progress and writes files).
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
