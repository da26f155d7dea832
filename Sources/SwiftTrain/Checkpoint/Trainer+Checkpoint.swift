import Glibc

/// State a callback keeps in checkpoints and gets back when a run resumes (HF's
/// stateful_callbacks, PyMarlin's get_state/update_state): bytes the callback makes and reads.
public struct CallbackState {
    public let name: String
    public let save: () throws -> [UInt8]
    public let load: ([UInt8]) throws -> Void

    public init(name: String, save: @escaping () throws -> [UInt8], load: @escaping ([UInt8]) throws -> Void) {
        self.name = name
        self.save = save
        self.load = load
    }
}

// Checkpoints of a training run (checkpoint-<global_step>/ in output_dir) and resuming from
// them. docs/checkpoints.md lists the files.
extension Trainer {
    /// Saves `state.save()` in every checkpoint under `state.name` and, when a run resumes,
    /// passes the saved bytes to `state.load` before train_begin. Names are unique.
    public func addCallbackState(_ state: CallbackState) throws {
        guard !state.name.isEmpty, state.name.utf8.count <= 200, state.name != "__metadata__", !state.name.utf8.contains(0),
              !callbackStates.contains(where: { $0.name == state.name }) else {
            throw SwiftTrainError.invalid("callback state name '\(state.name)' is empty, longer than 200 bytes, reserved, or "
                + "already used; each stateful callback needs its own name")
        }
        callbackStates.append(state)
    }

    /// The optimizer's and schedules' files, and the rest needed to resume.
    static let resumeFiles = ["model.safetensors", "optimizer.json", "optimizer.safetensors", "scheduler.json",
                              "rng_state.json", "progress.json", "trainer_state.json"]

    /// Writes checkpoint-<global_step> into output_dir, then applies save_total_limit.
    func saveCheckpoint(_ run: TrainingRun) throws {
        let name = CheckpointDirectory.prefix + String(state.globalStep)
        let previousBest = state.bestModelCheckpoint
        if state.bestMetric != nil && state.bestGlobalStep == state.globalStep {
            state.bestModelCheckpoint = Files.join(args.outputDir, name)
        }
        guard state.isWorldProcessZero else { return }  // (data-parallel: the first process writes)
        do {
            var writer = try CheckpointDirectory.Writer(outputDir: args.outputDir, name: name)
            do {
                try writer.add("model.safetensors", Safetensors.serialize(tensors: model.stateDict(), metadata: [("format", "pt")]))
                if !args.saveOnlyModel { try addResumeFiles(run, to: &writer) }
                try writer.add("trainer_state.json", Array(state.hfJSON(statefulCallbacks: statefulCallbacksJSON(run)).utf8))
                try writer.add("training_args.json", json: args.hfJSON)
                try writer.add("swifttrain_args.json", json: args.additionsJSON)
            } catch {
                writer.abandon()
                throw error
            }
            _ = try writer.commit()
        } catch {
            state.bestModelCheckpoint = previousBest
            throw error
        }
        try rotateCheckpoints()
    }

    private func addResumeFiles(_ run: TrainingRun, to writer: inout CheckpointDirectory.Writer) throws {
        let optimizer = run.updater.optimizer
        let (optimizerJSON, optimizerTensors) = optimizer.checkpoint()
        try writer.add("optimizer.safetensors", Safetensors.serialize(tensors: optimizerTensors))
        try writer.add("optimizer.json", json: optimizerJSON)
        var scheduler: [(String, JSONValue)] = [
            ("lr_scheduler_type", args.json["lr_scheduler_type"]!), ("last_epoch", .int(state.globalStep)),
            ("_last_lr", .array(optimizer.paramGroups.map { .double($0.learningRate) })),
            ("base_lrs", .array(optimizer.paramGroups.map { .double($0.initialLearningRate) })),
        ]
        if let p = run.plateau {
            scheduler += [("best", p.best.map { .double($0) } ?? .null), ("num_bad_epochs", .int(p.badEpochs)),
                          ("cooldown_counter", .int(p.cooldownCounter))]
        }
        try writer.add("scheduler.json", json: .object(scheduler))
        if let average = run.updater.average {
            let names = model.namedParameters.map(\.name)
            let tensors = zip(names, zip(average.parameters, average.shadows)).map { name, pair in
                (name: name, tensor: Tensor(shape: pair.0.shape, storage: pair.1))
            }
            try writer.add("ema.safetensors", Safetensors.serialize(tensors: tensors, metadata: [("format", "pt")]))
        }
        if let weights = run.best.weights {
            let ordered = model.stateDict().compactMap { name, _ in weights[name].map { (name: name, tensor: $0) } }
            try writer.add("best_model.safetensors", Safetensors.serialize(tensors: ordered, metadata: [("format", "pt")]))
        }
        let generator = DefaultGenerator.withGenerator { $0.state }
        try writer.add("rng_state.json", json: .object([
            ("default_generator", .object([("algorithm", .string("xoshiro256**")),
                                           ("state", .array(generator.map { .string(String($0, radix: 16)) }))])),
            ("data_seed", .int(args.dataSeed >= 0 ? args.dataSeed : args.seed)),
        ]))
        try writer.add("progress.json", json: .object([
            ("epoch_index", .int(run.epochIndex)), ("update_in_epoch", .int(run.updateInEpoch)),
            ("updates_per_epoch", .int(run.updatesPerEpoch)), ("num_samples", .int(trainDataset?.count ?? -1)),
            ("per_device_train_batch_size", .int(args.perDeviceTrainBatchSize)),
            ("gradient_accumulation_steps", .int(args.gradientAccumulationSteps)),
            ("dataloader_drop_last", .bool(args.dataloaderDropLast)),
            ("micro_step", .int(state.microStep)), ("skipped_steps", .int(state.skippedSteps)),
            ("loss", .double(state.loss)), ("grad_norm", .double(state.gradNorm)), ("learning_rate", .double(state.learningRate)),
            ("loss_since_log", .double(run.log.sinceLog)), ("steps_since_log", .int(run.log.stepsSinceLog)),
            ("loss_total", .double(run.log.total)), ("samples_seen", .int(run.samplesSeen)),
            ("train_runtime", .double(run.earlierRuntime + monotonicSeconds() - run.start)),
            ("ema_updates", .int(run.updater.average?.numUpdates ?? 0)),
            ("early_stopped", .bool(run.best.stopped)), ("at_epoch_end", .bool(run.atEpochEnd)),
        ]))
        if !callbackStates.isEmpty {
            let blobs = try callbackStates.map { (name: $0.name, bytes: try $0.save()) }
            let all = blobs.flatMap(\.bytes)
            let file = try all.withUnsafeBytes { raw in
                var offset = 0
                return try Safetensors.serialize(blobs.map { blob in
                    defer { offset += blob.bytes.count }
                    return Safetensors.Item(name: blob.name, dtype: "U8", shape: [blob.bytes.count],
                                            data: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + blob.bytes.count]))
                })
            }
            try writer.add("callback_states.safetensors", file)
        }
    }

    /// HF's stateful_callbacks: the control flags and the early-stopping counter.
    private func statefulCallbacksJSON(_ run: TrainingRun) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = [("TrainerControl", .object([
            ("args", .object([
                ("should_epoch_stop", .bool(control.shouldEpochStop)), ("should_evaluate", .bool(control.shouldEvaluate)),
                ("should_log", .bool(control.shouldLog)), ("should_save", .bool(control.shouldSave)),
                ("should_training_stop", .bool(control.shouldTrainingStop)),
            ])),
            ("attributes", .object([])),
        ]))]
        if args.earlyStoppingPatience > 0 {
            out.append(("EarlyStoppingCallback", .object([
                ("args", .object([("early_stopping_patience", .int(args.earlyStoppingPatience)),
                                  ("early_stopping_threshold", .double(args.earlyStoppingThreshold))])),
                ("attributes", .object([("early_stopping_patience_counter", .int(run.best.stale))])),
            ])))
        }
        return out
    }

    /// save_total_limit, HF's rule: delete the oldest checkpoints, but never the best one
    /// (with a limit of 1, two stay when the best is not the newest).
    func rotateCheckpoints() throws {
        guard args.saveTotalLimit > 0 else { return }
        var paths = try CheckpointDirectory.list(args.outputDir).map(\.path)
        func name(_ path: String) -> Substring { path.split(separator: "/").last ?? "" }
        // The best by its directory name: output_dir may be spelled differently than when it was saved.
        let best = state.bestModelCheckpoint.map(name)
        if let best, let i = paths.firstIndex(where: { name($0) == best }) {
            for j in i..<Swift.max(i, paths.count - 2) { paths.swapAt(j, j + 1) }
        }
        var limit = args.saveTotalLimit
        if limit == 1, let best, paths.last.map(name) != best { limit = 2 }
        for path in paths.prefix(Swift.max(0, paths.count - limit)) {
            // Renamed first, so a crash while deleting never leaves a half checkpoint under its name.
            let serial = CheckpointDirectory.serial.add(1, ordering: .relaxed).newValue
            let aside = Files.join(args.outputDir, CheckpointDirectory.temporaryPrefix + "deleted-\(name(path))-\(getpid())-\(serial)")
            try Files.rename(path, aside)
            try Files.removeTree(aside)
        }
    }

    // MARK: - Resume

    /// Restores a run from a checkpoint: everything is read and checked first, then the
    /// optimizer, schedules, counters, moving average, best weights, callback states,
    /// random generator and finally the model's weights are put back.
    func resume(_ run: TrainingRun, from source: ResumeFrom, numSamples: Int) throws {
        let contents: CheckpointDirectory.Contents
        var skipped: [String] = []
        // A checkpoint a dead writer left moved aside is put back first, where we may write
        // (a resume from a directory we cannot write to stays read-only).
        let directory: String
        switch source {
        case let .checkpoint(path):
            var trimmed = Substring(path)
            while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            if let slash = trimmed.lastIndex(of: "/") {
                directory = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
            } else {
                directory = "."
            }
        case .latest: directory = args.outputDir
        }
        if Files.isDirectory(directory) { try? CheckpointDirectory.cleanUp(directory) }
        switch source {
        case let .checkpoint(path): contents = try CheckpointDirectory.open(path, required: ["model.safetensors", "trainer_state.json"])
        case .latest: (contents, skipped) = try CheckpointDirectory.latestValid(args.outputDir, required: ["model.safetensors", "trainer_state.json"])
        }
        let path = contents.path
        guard contents.has("optimizer.json") else {
            throw SwiftTrainError.invalid("checkpoint '\(path)' was saved with save_only_model and cannot be resumed; "
                + "load its model.safetensors instead")
        }
        for name in Self.resumeFiles where !contents.has(name) {
            throw SwiftTrainError(.corrupt, "checkpoint '\(path)' has no \(name), which resuming needs")
        }
        let progress = try contents.json("progress.json")
        func int(_ key: String) throws -> Int {  // counters that later grow: bounded so they cannot overflow
            guard let v = progress[key]?.intValue, v >= 0, v <= 1 << 50 else {
                throw SwiftTrainError(.corrupt, "\(path)/progress.json: '\(key)' is missing or out of range")
            }
            return v
        }
        func double(_ key: String) throws -> Double {
            guard let v = progress[key]?.doubleValue else { throw SwiftTrainError(.corrupt, "\(path)/progress.json: '\(key)' is missing or invalid") }
            return v
        }
        func size(_ key: String) throws -> Int {  // -1 for an iterable dataset
            guard let v = progress[key]?.intValue, v >= -1, v <= 1 << 50 else {
                throw SwiftTrainError(.corrupt, "\(path)/progress.json: '\(key)' is missing or out of range")
            }
            return v
        }
        let savedUpdates = try size("updates_per_epoch"), savedSamples = try size("num_samples")
        guard savedUpdates == run.updatesPerEpoch, savedSamples == numSamples,
              progress["per_device_train_batch_size"]?.intValue == args.perDeviceTrainBatchSize,
              progress["gradient_accumulation_steps"]?.intValue == args.gradientAccumulationSteps,
              progress["dataloader_drop_last"]?.boolValue == args.dataloaderDropLast else {
            func described(_ samples: Int, _ updates: Int, _ batch: Int?, _ accumulation: Int?) -> String {
                "\(samples) training samples, batch size \(batch.map(String.init) ?? "?"), accumulation \(accumulation.map(String.init) ?? "?") "
                    + "(\(updates) updates per epoch)"
            }
            throw SwiftTrainError.invalid("checkpoint '\(path)' was written by a run with "
                + described(savedSamples, savedUpdates, progress["per_device_train_batch_size"]?.intValue,
                            progress["gradient_accumulation_steps"]?.intValue)
                + "; this run has " + described(numSamples, run.updatesPerEpoch, args.perDeviceTrainBatchSize, args.gradientAccumulationSteps)
                + ". Resume with the same dataset, per_device_train_batch_size, gradient_accumulation_steps and dataloader_drop_last")
        }
        let rng = try contents.json("rng_state.json")
        let dataSeed = args.dataSeed >= 0 ? args.dataSeed : args.seed
        guard rng["data_seed"]?.intValue == dataSeed else {
            throw SwiftTrainError.invalid("checkpoint '\(path)' shuffled its data with seed \(rng["data_seed"]?.serialized() ?? "?"); "
                + "this run uses \(dataSeed). Resume with the same seed / data_seed")
        }
        guard let words = rng["default_generator"]?["state"]?.arrayValue?.compactMap({ $0.stringValue.flatMap { UInt64($0, radix: 16) } }),
              words.count == 4 else {
            throw SwiftTrainError(.corrupt, "\(path)/rng_state.json: default_generator state is missing or invalid")
        }
        let generator = try Generator(state: words)
        var restored = state
        let trainerState = try contents.json("trainer_state.json")
        try restored.restore(fromHF: trainerState, source: Files.join(path, "trainer_state.json"))
        restored.microStep = try int("micro_step")
        restored.skippedSteps = try int("skipped_steps")
        restored.loss = try double("loss")
        restored.gradNorm = try double("grad_norm")
        restored.learningRate = try double("learning_rate")
        let callbacksJSON = trainerState["stateful_callbacks"]
        var stale = 0
        if args.earlyStoppingPatience > 0,
           let counter = callbacksJSON?["EarlyStoppingCallback"]?["attributes"]?["early_stopping_patience_counter"]?.intValue {
            guard counter >= 0, counter <= 1 << 40 else {
                throw SwiftTrainError(.corrupt, "\(path)/trainer_state.json: early_stopping_patience_counter \(counter) is out of range")
            }
            stale = counter
        }
        // Early stopping that ended the saved run ends the resumed one at the same point. Other
        // stops (max_steps, Ctrl-C, a callback's) are not carried over: resuming is asking to go on.
        var restoredControl = TrainerControl()
        // (only while this run stops early too, with a patience the saved counter has reached)
        restoredControl.shouldTrainingStop = (progress["early_stopped"]?.boolValue ?? false)
            && args.earlyStoppingPatience > 0 && stale >= args.earlyStoppingPatience
        let weights = try contents.safetensors("model.safetensors").tensorDictionary()
        let ema = contents.has("ema.safetensors") ? try contents.safetensors("ema.safetensors").tensorDictionary() : nil
        if run.updater.average != nil && ema == nil {
            throw SwiftTrainError.invalid("checkpoint '\(path)' has no moving average, but this run has ema_decay; resume with the same ema_decay")
        }
        let best = contents.has("best_model.safetensors") ? try contents.safetensors("best_model.safetensors").tensorDictionary() : nil
        let scheduler = try contents.json("scheduler.json")
        var plateau = run.plateau
        if plateau != nil {
            guard let bad = scheduler["num_bad_epochs"]?.intValue, let cooldown = scheduler["cooldown_counter"]?.intValue,
                  let bestValue = scheduler["best"] else {
                throw SwiftTrainError.invalid("checkpoint '\(path)' has no reduce_lr_on_plateau state; resume with the same lr_scheduler_type")
            }
            try plateau!.restore(best: bestValue.doubleValue, badEpochs: bad, cooldownCounter: cooldown)
        }
        let blobs = contents.has("callback_states.safetensors") ? try contents.safetensors("callback_states.safetensors") : nil

        try model.checkStateDict(weights)

        // Everything read and checked: put it back.
        try run.updater.optimizer.restore(json: try contents.json("optimizer.json"), tensors: try contents.safetensors("optimizer.safetensors"))
        if let average = run.updater.average, let ema {
            for (name, (p, shadow)) in zip(model.namedParameters.map(\.name), zip(average.parameters, average.shadows)) {
                guard let t = ema[name], t.shape == p.shape, t.dtype == .float32 else {
                    throw SwiftTrainError.shape("checkpoint '\(path)': the moving average of '\(name)' is missing or has another shape")
                }
                shadow.base.update(from: t.data, count: p.count)
            }
            average.numUpdates = try int("ema_updates")
        }
        run.plateau = plateau
        run.best.stale = stale
        run.best.stopped = restoredControl.shouldTrainingStop
        run.best.weights = best
        run.log.sinceLog = try double("loss_since_log")
        run.log.stepsSinceLog = try int("steps_since_log")
        run.log.total = try double("loss_total")
        run.samplesSeen = try int("samples_seen")
        run.earlierRuntime = try double("train_runtime")
        run.epochIndex = try int("epoch_index")
        run.updateInEpoch = try int("update_in_epoch")
        run.atEpochEnd = progress["at_epoch_end"]?.boolValue ?? false
        // The user's code, which may fail: before the weights, generator and state are put back
        // (everything above changed only this run's own objects).
        if let blobs {
            for callback in callbackStates {
                guard let e = blobs.entry(callback.name) else { continue }
                try callback.load(Array(blobs.bytes[e.offset..<e.offset + e.byteCount]))
            }
        }
        try model.loadStateDict(weights)  // checked above: cannot fail
        DefaultGenerator.withGenerator { $0 = generator }
        state = restored
        control = restoredControl
        run.resumedFrom = skipped.isEmpty ? path : "\(path) (newer checkpoints passed over: \(skipped.joined(separator: "; ")))"
    }

    // MARK: - Saving the model

    /// Writes the model's weights to `directory`/model.safetensors (HF's save_model), with
    /// the names of `state_dict()`; `directory` defaults to output_dir. The file appears
    /// whole or not at all.
    /// In data-parallel training, only the first process writes (HF's should_save).
    public func saveModel(_ directory: String? = nil) throws {
        guard state.isWorldProcessZero else { return }
        let dir = directory ?? args.outputDir
        try Files.makeDirectories(dir)
        try model.saveSafetensors(Files.join(dir, "model.safetensors"))
    }
}

extension Module {
    /// Writes the state dict to a safetensors file that PyTorch's `load_state_dict` and
    /// `safetensors.torch.load_file` read; written to a temporary file, flushed, then renamed.
    public func saveSafetensors(_ path: String) throws {
        try Safetensors.save(tensors: stateDict(), metadata: [("format", "pt")], to: path)
    }

    /// Loads weights from a safetensors file (one this library or PyTorch's
    /// `safetensors.torch.save_file` wrote) by name, as `loadStateDict`.
    public func loadSafetensors(_ path: String, strict: Bool = true) throws {
        try loadStateDict(try SafetensorsFile(contentsOf: path).tensorDictionary(), strict: strict)
    }
}
