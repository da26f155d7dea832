// The training loop of Trainer.
extension Trainer {
    // MARK: - Training

    /// Trains and returns the train metrics (train_runtime, train_samples_per_second,
    /// train_steps_per_second, train_loss, epoch). Starts a fresh optimizer, schedule and
    /// state, the weights continuing from where they are; or, with `resumeFrom`, restores
    /// all of them from a checkpoint and continues that run exactly where it was saved.
    @discardableResult
    public func train(resumeFrom: ResumeFrom? = nil) throws -> Metrics {
        try enter("train")
        defer { running = false; clearStopRequest() }
        try fireInitEndOnce()
        let metrics: Metrics
        do {
            metrics = try runTraining(resumeFrom: resumeFrom)
        } catch var error {
            if let group = processGroup {  // the launcher ends the other processes (see ProcessGroup)
                group.markFailed()
                if var e = error as? SwiftTrainError, !e.message.hasPrefix("rank ") {
                    e.message = "rank \(group.rank) of \(group.size): " + e.message
                    error = e
                }
            }
            // The exception and close events run; errors they raise are not allowed to hide
            // the original one, which surfaces from train().
            eventData.error = error
            defer { eventData.error = nil }
            try? fire(.exception)
            try? fire(.close)
            try? fire(.postClose)
            throw error
        }
        // outside the do: a CLOSE that throws is not followed by EXCEPTION and CLOSE again
        do { try fire(.close) } catch {
            eventData.error = error  // (the first error is the one the run reports)
            defer { eventData.error = nil }
            try? fire(.postClose)
            throw error
        }
        try fire(.postClose)
        return metrics
    }

    private func runTraining(resumeFrom: ResumeFrom?) throws -> Metrics {
        guard let dataset = trainDataset else {
            throw SwiftTrainError.misuse("train(): no training dataset; set one before training")
        }
        try check(dataset, role: "training dataset", needsTargets: true)
        if args.evalStrategy != .no {
            guard !evalDatasets.isEmpty else {
                throw SwiftTrainError.invalid(
                    "eval_strategy is not 'no' but there is no evaluation dataset; set one or use eval_strategy 'no'")
            }
        }
        if args.evalStrategy != .no || args.evalOnStart {  // datasets never evaluated are not checked
            let evalMetrics = try checkEvalDatasets()
            let followed = args.bestModelMetric ?? (args.lrSchedulerType == .reduceLROnPlateau ? "eval_loss" : nil)
            // (compute_metrics and an evaluateFunction may add names; then a missing one is found
            // at the first evaluation)
            if let followed, !evalDatasets.isEmpty, computeMetrics == nil, evaluateFunction == nil,
               !evalMetrics.contains(followed) {
                let what = args.bestModelMetric != nil ? "metric_for_best_model" : "reduce_lr_on_plateau"
                throw SwiftTrainError.invalid("\(what) follows '\(followed)', which evaluation does not produce; set "
                    + "metric_for_best_model to one of: \(evalMetrics.filter { !$0.hasSuffix("_per_second") && !$0.hasSuffix("_runtime") }.joined(separator: ", "))")
            }
        }

        let group = try ProcessGroup.resolve(backend: args.ddpBackend)
        processGroup = group
        if let group {
            group.setTimeout(args.ddpTimeout)
            try group.checkSameRun(self, dataset: dataset)
            // every process starts from process 0's weights, as DistributedDataParallel does
            try group.broadcastFromFirst(model.stateDict().map(\.1))
        }
        var loader = DataLoader(source: dataset, batchSize: args.perDeviceTrainBatchSize, shuffle: args.dataloaderShuffle,
                                seed: args.resolvedDataSeed, dropLast: args.dataloaderDropLast, labelNames: args.labelNames,
                                rank: group?.rank ?? 0, worldSize: group?.size ?? 1)
        let accumulation = args.gradientAccumulationSteps
        let maxSteps: Int, numEpochs: Int, updatesPerEpoch: Int?
        if let batchesPerEpoch = loader.batchesPerEpoch {
            guard batchesPerEpoch > 0 else {
                throw SwiftTrainError.invalid(
                    "the training dataset has \(dataset.count!) samples, fewer than one batch of "
                        + "\(args.perDeviceTrainBatchSize)\(args.dataloaderDropLast ? " with dataloader_drop_last" : ""); lower the batch size")
            }
            let perEpoch = (batchesPerEpoch + accumulation - 1) / accumulation
            let stepsFromEpochs = (args.numTrainEpochs * Double(perEpoch)).rounded(.up)
            guard args.maxSteps > 0 || stepsFromEpochs <= Double(1 << 40) else {
                throw SwiftTrainError.invalid("num_train_epochs \(args.numTrainEpochs) x \(perEpoch) steps per epoch is more than 2^40 steps")
            }
            maxSteps = args.maxSteps > 0 ? args.maxSteps : Int(stepsFromEpochs)
            numEpochs = (maxSteps + perEpoch - 1) / perEpoch
            updatesPerEpoch = perEpoch
        } else {
            guard args.maxSteps > 0 else {
                throw SwiftTrainError.invalid("the training dataset is iterable (it has no length), so the number of steps "
                    + "cannot come from num_train_epochs; set max_steps (as HF's Trainer requires)")
            }
            // (every epoch of an iterable source has at least one step, so max_steps bounds the epochs)
            (maxSteps, numEpochs, updatesPerEpoch) = (args.maxSteps, args.maxSteps, nil)
        }
        let run = try TrainingRun(trainer: self, maxSteps: maxSteps, updatesPerEpoch: updatesPerEpoch ?? -1)
        let updater = run.updater
        updater.group = group
        let parameterCount = model.parameterCount
        // What a refused resume must leave as it was.
        let before = (state: state, control: control, average: movingAverage, generator: DefaultGenerator.withGenerator { $0 },
                      resumedFrom: lastResumedFrom)
        lastResumedFrom = nil
        movingAverage = updater.average

        state = TrainerState()
        plannedSteps = 0
        if let group {
            (state.worldSize, state.processIndex) = (group.size, group.rank)
            (state.isWorldProcessZero, state.isLocalProcessZero) = (group.rank == 0, group.localRank == 0)
        }
        state.maxSteps = maxSteps
        state.numTrainEpochs = numEpochs
        state.trainBatchSize = args.perDeviceTrainBatchSize
        state.loggingSteps = args.resolvedLoggingSteps(total: maxSteps)
        state.evalSteps = args.resolvedEvalSteps(total: maxSteps)
        state.saveSteps = args.resolvedSaveSteps(total: maxSteps)
        updater.applySchedule(at: 0)
        state.learningRate = updater.optimizer.paramGroups[0].learningRate
        control = TrainerControl()
        // HF: "seed: random seed that will be set at the beginning of training" (dropout and
        // other draws from the default generator); a resume restores the generator instead.
        manualSeed(UInt64(bitPattern: Int64(args.seed)))
        (eventData.optimizer, eventData.lrSchedule) = (updater.optimizer, updater.schedule)
        defer { (eventData.optimizer, eventData.lrSchedule) = (nil, nil); eventData.clearStep() }
        if let resumeFrom {
            // (a callback failing at BEFORE_LOAD or AFTER_LOAD fails the run as at any event;
            // only a refused checkpoint is undone)
            try fire(.beforeLoad)
            do { try resume(run, from: resumeFrom, numSamples: dataset.count ?? -1) } catch {
                (state, control, movingAverage, lastResumedFrom) = (before.state, before.control, before.average, before.resumedFrom)
                DefaultGenerator.withGenerator { $0 = before.generator }
                throw error
            }
            try fire(.afterLoad)
        }
        lastResumedFrom = run.resumedFrom
        if let group, resumeFrom != nil {  // every process resumed from the same checkpoint
            try group.checkSame(state.globalStep, "the step they resume from",
                                hint: "give every process the same output_dir (a shared file system across machines)")
        }
        model.train()
        afterEvaluation = { [unowned self] metrics in try run.observe(metrics, trainer: self) }
        defer { afterEvaluation = nil }

        // report_to tensorboard: the event file of this run, written at every LOG after the
        // other callbacks (as the metrics logger)
        let tensorBoard = try args.reportsToTensorBoard && state.isWorldProcessZero
            ? TensorBoardWriter(directory: args.resolvedLoggingDir()) : nil
        let tensorBoardCallback = tensorBoard.map { addCallback(EventMask(.log), priority: Int.max, $0.callback) }
        defer { if let tensorBoardCallback { removeCallback(tensorBoardCallback) } }
        try fire(.trainBegin)
        // (not when resuming: the run being continued already did it)
        if args.evalOnStart, resumeFrom == nil, !evalDatasets.isEmpty { try evaluateInTraining() }
        let (startEpoch, startUpdate) = (run.epochIndex, run.updateInEpoch)
        var epoch = startEpoch
        // An early stop restored from a checkpoint saved at the end of its epoch: nothing is left.
        let finished = resumeFrom != nil && control.shouldTrainingStop && run.atEpochEnd
        while epoch < numEpochs && !finished {
            run.atEpochEnd = false
            loader.setEpoch(epoch)
            if let schedule = run.momentumSchedule {
                for i in updater.optimizer.paramGroups.indices {
                    updater.optimizer.paramGroups[i].momentum = schedule.momentum(base: run.baseMomenta[i], epoch: epoch)
                }
            }
            let resumedEpoch = resumeFrom != nil && epoch == startEpoch
            control.shouldEpochStop = false
            // (a restored early stop only finishes the epoch it was saved in: no new beginning)
            if !(resumedEpoch && control.shouldTrainingStop) { try fire(.epochBegin) }
            var update = resumedEpoch ? startUpdate : 0
            // The next batch of the epoch: a resumed epoch skips the batches already used
            // (an iterable source with ignore_data_skip starts from its beginning instead).
            var next = resumedEpoch && !(updatesPerEpoch == nil && args.ignoreDataSkip) ? startUpdate * accumulation : 0
            var exhausted = false
            // (an early stop restored from a checkpoint ends the epoch before any step)
            while update < (updatesPerEpoch ?? Int.max) && state.globalStep < maxSteps && !(resumedEpoch && control.shouldTrainingStop) {
                // An iterable source's first batch of a step is fetched before STEP_BEGIN: it
                // tells whether the epoch has another step.
                var window: [Batch] = []
                if updatesPerEpoch == nil {
                    try fire(.beforeDataloader)
                    guard let first = try loader.batch(next) else { exhausted = true; break }
                    window.append(try fetched(first))
                    next += 1
                }
                control.shouldLog = false
                control.shouldEvaluate = false
                control.shouldSave = false
                try fire(.stepBegin)
                // The planned step gathers its batches itself, when no callback is to see them.
                let plan = run.plan.flatMap { listened & PlannedStep.blockingEvents == 0 && $0.trainsAnything ? $0 : nil }
                let first = next - window.count
                while next - first < accumulation {
                    if let n = loader.batchesPerEpoch, next >= n { break }
                    try fire(.beforeDataloader)
                    if plan == nil {
                        guard let batch = try loader.batch(next) else { exhausted = true; break }
                        window.append(try fetched(batch))
                    }
                    next += 1
                }
                try fire(.beforeTrainBatch)
                let result: UpdateStep.Result
                do {
                    if let plan {
                        plannedSteps += 1
                        plan.profile = stepProfile
                        result = try updater.run(plan: plan, batches: first..<next, loader: loader, step: state.globalStep,
                                                 data: eventData, fire: { try self.fire($0) }, microStep: { self.state.microStep += 1 })
                    } else {
                        result = try updater.run(window: window, step: state.globalStep, data: eventData,
                                                 fire: { try self.fire($0) }, microStep: { self.state.microStep += 1 })
                    }
                } catch var error as SwiftTrainError {
                    if !error.message.hasPrefix("epoch ") {
                        error.message = "epoch \(epoch), batch \(next - first == 1 ? "\(first)" : "\(first)-\(next - 1)") "
                            + "(step \(state.globalStep + 1)): \(error.message)"
                    }
                    throw error
                }
                if result.skipped { state.skippedSteps += 1 }
                state.gradNorm = result.gradNorm
                state.globalStep += 1
                state.epoch = Double(epoch) + Double(update + 1) / Double(updatesPerEpoch ?? maxSteps)
                state.loss = result.loss
                if run.plateau == nil {
                    updater.applySchedule(at: state.globalStep)
                    state.learningRate = updater.optimizer.paramGroups[0].learningRate
                }
                run.log.add(result.loss)
                run.samplesSeen += result.examples
                state.totalFlos += 6 * Double(parameterCount) * Double(result.examples)
                update += 1
                (run.epochIndex, run.updateInEpoch) = (epoch, update)

                try fire(.stepEnd)
                try maybeLogSaveEvaluate(run)
                try fire(.stepCheckpoint)
                eventData.clearStep()
                try agreeOnControl(stopOnly: true)
                if control.shouldTrainingStop || control.shouldEpochStop { break }
                if exhausted { break }
            }
            if updatesPerEpoch == nil && update == 0 && exhausted {
                throw SwiftTrainError.invalid("epoch \(epoch): the iterable training dataset yielded no batch; "
                    + "it must yield at least one batch per epoch")
            }
            // A checkpoint saved from here on resumes after this epoch's end, in the next epoch
            // when this one ran to its last update, else (a stop) later in this one.
            if update == updatesPerEpoch || exhausted || (control.shouldEpochStop && !control.shouldTrainingStop) {
                (run.epochIndex, run.updateInEpoch) = (epoch + 1, 0)  // (a callback's epoch stop moves on too)
            }
            run.atEpochEnd = true
            try fire(.epochEnd)
            let evaluation = try maybeLogSaveEvaluate(run)
            try fire(.epochCheckpoint, metrics: evaluation)
            try agreeOnControl(stopOnly: true)
            if control.shouldTrainingStop { break }
            epoch += 1
        }

        if args.loadBestModelAtEnd { try run.best.restore(into: model) }
        let runtime = run.earlierRuntime + monotonicSeconds() - run.start
        var metrics = Metrics()
        metrics["train_runtime"] = runtime
        metrics["train_samples_per_second"] = Double(run.samplesSeen) / max(runtime, 1e-9)
        metrics["train_steps_per_second"] = Double(state.globalStep) / max(runtime, 1e-9)
        metrics["train_loss"] = state.globalStep > 0 ? run.log.total / Double(state.globalStep) : .nan
        metrics["epoch"] = state.epoch
        try emit(metrics)
        try fire(.trainEnd)
        return metrics
    }

    /// HF's _maybe_log_save_evaluate: the log, the evaluation (whose best-model bookkeeping
    /// may ask for a save), then the checkpoint and the save event.
    /// AFTER_DATALOADER: a callback may replace the batch just fetched (Composer's
    /// AFTER_DATALOADER algorithms).
    private func fetched(_ batch: Batch) throws -> Batch {
        eventData.batch = batch
        try fire(.afterDataloader)
        return eventData.batch ?? batch
    }

    /// Returns the evaluation's metrics when there was one.
    @discardableResult
    func maybeLogSaveEvaluate(_ run: TrainingRun) throws -> Metrics? {
        try agreeOnControl()
        if control.shouldLog {
            control.shouldLog = false
            var logs = Metrics()
            if run.log.stepsSinceLog > 0 { logs["loss"] = run.log.sinceLog / Double(run.log.stepsSinceLog) }
            if !state.gradNorm.isNaN { logs["grad_norm"] = state.gradNorm }
            logs["learning_rate"] = state.learningRate
            logs["epoch"] = state.epoch
            run.log.sinceLog = 0
            run.log.stepsSinceLog = 0
            try emit(logs)
        }
        var evaluation: Metrics?
        if control.shouldEvaluate {
            control.shouldEvaluate = false
            guard !evalDatasets.isEmpty else {
                throw SwiftTrainError.misuse("a callback requested evaluation but there is no evaluation dataset")
            }
            if args.evalStrategy == .no && !args.evalOnStart { try checkEvalDatasets() }  // not checked before training
            evaluation = try evaluateInTraining()
        }
        // A stop request (requestStop) that came during this step or its STEP_END, LOG or
        // EVALUATE callbacks stops training here, after the step's checkpoint.
        applyStopRequest()
        let saving = control.shouldSave
        if saving { try save(run) }
        // one that came while saving (or in SAVE's callbacks) stops here too
        if applyStopRequest() && control.shouldSave {
            if saving { control.shouldSave = false } else { try save(run) }
        }
        return evaluation
    }

    /// Data-parallel training: the processes agree on the step's flags and stop requests (set
    /// on any process, they are set on all), so they log, evaluate, save and stop at the same
    /// steps. A request that comes later waits for the next step's agreement.
    func agreeOnControl(stopOnly: Bool = false) throws {
        guard let group = processGroup else { return }
        var request = stopOnly ? 0 : stopRequest.exchange(0, ordering: .relaxed)
        var agreed = control
        try group.agree(on: &agreed, stopRequest: &request)
        if stopOnly {
            (control.shouldTrainingStop, control.shouldEpochStop) = (agreed.shouldTrainingStop, agreed.shouldEpochStop)
        } else {
            control = agreed
            agreedStopRequest = Swift.max(agreedStopRequest, request)
        }
    }

    private func save(_ run: TrainingRun) throws {
        control.shouldSave = false
        try saveCheckpoint(run)
        try fire(.save)
    }

    /// HF's setup: biases and normalisation weights in a group without weight decay, the
    /// optimizer and schedule the arguments name, and the moving average if asked for.
    func makeUpdateStep(maxSteps: Int) throws -> UpdateStep {
        if let optimizerFunction {
            let (optimizer, schedule) = try optimizerFunction(maxSteps)
            try checkGiven(optimizer, schedule: schedule)
            (givenOptimizer, givenSchedule) = (optimizer, schedule)
        }
        let optimizer = try givenOptimizer ?? makeOptimizer()
        let schedule = try givenSchedule
            ?? (args.lrSchedulerType == .reduceLROnPlateau ? nil : makeSchedule(total: maxSteps))
        let average = args.emaDecay > 0 ? MovingAverage(parameters: model.parameters, decay: args.emaDecay) : nil
        return UpdateStep(model: model, losses: losses, args: args, optimizer: optimizer, schedule: schedule, average: average)
    }

}
