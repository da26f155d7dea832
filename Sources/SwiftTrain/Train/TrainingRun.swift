/// What one train() carries from step to step besides the TrainerState: the update
/// machinery, the schedules' state, the loss sums, the best-model tracker and where the
/// loop is. A checkpoint saves all of it (Trainer+Checkpoint.swift) and a resume restores
/// it, so a resumed run continues exactly as the uninterrupted one.
final class TrainingRun {
    let updater: UpdateStep
    /// The planned forward and backward, when the model, loss and data allow one.
    let plan: PlannedStep?
    var plateau: ReduceLROnPlateau?
    let momentumSchedule: MomentumSchedule?
    let baseMomenta: [Double]
    var log: LossTracker
    var best: BestModelTracker
    var samplesSeen = 0
    /// When this train() call started.
    let start = monotonicSeconds()
    /// Seconds spent training before this train() call (the earlier part of a resumed run).
    var earlierRuntime = 0.0
    /// Where the loop continues: the epoch, and the optimizer update within it.
    var epochIndex = 0, updateInEpoch = 0
    /// Whether the epoch's end (EPOCH_END and its log, evaluation and save) is under way or
    /// done: a checkpoint saved then resumes after it, not before.
    var atEpochEnd = false
    let updatesPerEpoch: Int
    /// The checkpoint this run resumed from, and the newer ones passed over as damaged.
    var resumedFrom: String?

    init(trainer: Trainer, maxSteps: Int, updatesPerEpoch: Int) throws {
        let args = trainer.args
        updater = try trainer.makeUpdateStep(maxSteps: maxSteps)
        plan = trainer.trainDataset.flatMap { PlannedStep.make(model: trainer.model, losses: trainer.losses, dataset: $0, args: args) }
        plateau = args.lrSchedulerType == .reduceLROnPlateau ? try ReduceLROnPlateau.make(kwargs: args.lrSchedulerKwargs) : nil
        momentumSchedule = args.momentumSchedulerType == .invertedTriangular
            ? try MomentumSchedule.make(kwargs: args.momentumSchedulerKwargs) : nil
        baseMomenta = updater.optimizer.paramGroups.map(\.momentum)
        log = LossTracker(filterNonFinite: args.loggingNanInfFilter)
        best = BestModelTracker(args: args)
        self.updatesPerEpoch = updatesPerEpoch
    }

    /// After each evaluation during training: best-model bookkeeping and early stopping, a
    /// save request under save_strategy "best", and the plateau schedule.
    func observe(_ metrics: Metrics, trainer: Trainer) throws {
        if try best.observe(metrics, trainer: trainer), trainer.args.saveStrategy == .best {
            trainer.control.shouldSave = true
        }
        guard plateau != nil else { return }  // reduce_lr_on_plateau follows the evaluation metric
        let key = trainer.args.bestModelMetric ?? "eval_loss"
        guard let value = metrics[key] else {
            throw SwiftTrainError.invalid("reduce_lr_on_plateau follows '\(key)', which the evaluation did not produce; "
                + "set metric_for_best_model to one of: \(metrics.map(\.name).joined(separator: ", "))")
        }
        let optimizer = updater.optimizer
        let rates = plateau!.step(metric: value, rates: optimizer.paramGroups.map(\.learningRate))
        for (i, r) in rates.enumerated() { optimizer.paramGroups[i].learningRate = r }
        trainer.state.learningRate = rates[0]
    }
}

/// Sums of step losses: since the last log, and over the whole run.
struct LossTracker {
    var sinceLog = 0.0, stepsSinceLog = 0, total = 0.0
    /// HF's logging_nan_inf_filter: a NaN or infinite step loss counts as the average of
    /// the steps since the last log.
    var filterNonFinite = true
    mutating func add(_ loss: Double) {
        var value = loss
        if filterNonFinite && !loss.isFinite { value = stepsSinceLog > 0 ? sinceLog / Double(stepsSinceLog) : 0 }
        sinceLog += value
        stepsSinceLog += 1
        total += value
    }
}

/// HF's best-model bookkeeping after each evaluation during training (best_metric,
/// best_global_step, the best weights for load_best_model_at_end), and early stopping
/// (HF's EarlyStoppingCallback rule: an evaluation that does not beat the best by more
/// than the threshold counts toward the patience).
struct BestModelTracker {
    let metric: String?, greaterIsBetter: Bool, patience: Int, threshold: Double, keepWeights: Bool
    /// Evaluations in a row without enough improvement (HF's early_stopping_patience_counter).
    var stale = 0
    /// Whether early stopping ended the run (a resumed run stops there too).
    var stopped = false
    var weights: [String: Tensor]?

    init(args: TrainingArguments) {
        metric = args.bestModelMetric
        greaterIsBetter = args.resolvedGreaterIsBetter
        patience = args.earlyStoppingPatience
        threshold = args.earlyStoppingThreshold
        keepWeights = args.loadBestModelAtEnd
    }

    /// Returns whether the evaluation found a new best.
    mutating func observe(_ metrics: Metrics, trainer: Trainer) throws -> Bool {
        guard let metric else { return false }
        guard let value = metrics[metric] else {
            throw SwiftTrainError.invalid("metric_for_best_model '\(metric)' is not among the evaluation's metrics: "
                + metrics.map(\.name).joined(separator: ", "))
        }
        func better(_ a: Double, than b: Double) -> Bool { greaterIsBetter ? a > b : a < b }
        let previous = trainer.state.bestMetric
        if patience > 0 {
            if let previous, !(better(value, than: previous) && Swift.abs(value - previous) > threshold) {
                stale += 1
            } else {
                stale = 0
            }
            if stale >= patience {
                trainer.control.shouldTrainingStop = true
                stopped = true
            }
        }
        guard previous == nil || better(value, than: previous!) else { return false }
        trainer.state.bestMetric = value
        trainer.state.bestGlobalStep = trainer.state.globalStep
        if keepWeights {  // the weights the evaluation used: the moving average's, if there is one
            let model = trainer.model
            weights = trainer.movingAverage.map { $0.withAveragedWeights { model.stateDictCopy() } } ?? model.stateDictCopy()
        }
        return true
    }

    func restore(into model: Module) throws {
        if let weights { try model.loadStateDict(weights) }
    }
}

extension Module {
    /// Copies of the state dict's tensors, by name.
    func stateDictCopy() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: stateDict().map { name, t in
            let c = Tensor(uninitialized: t.shape, dtype: t.dtype)
            c.storage.raw.copyMemory(from: t.storage.raw, byteCount: t.count * t.dtype.size)
            return (name, c)
        })
    }
}
