import PublicHeader
import SwiftTrain

/// st_event_name's static strings, in TrainerEvent order (checked by a test against hfName).
let eventNames: [StaticString] = [
    "on_train_begin", "on_epoch_begin", "on_step_begin", "on_step_end", "on_log", "on_evaluate",
    "on_epoch_end", "on_train_end", "on_init_end", "on_before_dataloader", "on_after_dataloader",
    "on_before_forward", "on_after_forward", "on_before_loss", "on_after_loss", "on_before_backward",
    "on_after_backward", "on_substep_end", "on_pre_optimizer_step", "on_optimizer_step", "on_evaluate_begin",
    "on_prediction_step", "on_predict_begin", "on_predict", "on_exception", "on_close", "on_save",
    "on_before_load", "on_after_load", "on_before_train_batch", "on_step_checkpoint", "on_epoch_checkpoint",
    "on_evaluate_before_all", "on_evaluate_after_all", "on_evaluate_batch_begin", "on_evaluate_before_forward",
    "on_evaluate_after_forward", "on_predict_batch_begin", "on_predict_before_forward", "on_predict_after_forward",
    "on_evaluate_standalone_begin", "on_evaluate_standalone_end", "on_post_close",
]

@c @implementation
public func st_event_is_teardown(_ event: Int32) -> Bool {
    TrainerEvent(rawValue: event)?.isTeardown ?? false
}

@c @implementation
public func st_event_name(_ event: Int32) -> UnsafePointer<CChar>? {
    guard let e = TrainerEvent(rawValue: event) else { return nil }
    return cString(eventNames[Int(e.rawValue)])
}

extension st_trainer_state {
    init(_ s: TrainerState, metrics: OpaquePointer?) {
        self.init()
        struct_size = UInt32(MemoryLayout<st_trainer_state>.size)
        epoch = s.epoch
        global_step = Int64(s.globalStep)
        max_steps = Int64(s.maxSteps)
        num_train_epochs = Int64(s.numTrainEpochs)
        train_batch_size = Int64(s.trainBatchSize)
        logging_steps = Int64(s.loggingSteps)
        eval_steps = Int64(s.evalSteps)
        loss = s.loss
        learning_rate = s.learningRate
        grad_norm = s.gradNorm
        self.metrics = metrics
        micro_step = Int64(s.microStep)
        total_flos = s.totalFlos
        best_metric = s.bestMetric ?? .nan
        best_global_step = Int64(s.bestGlobalStep ?? -1)
        skipped_steps = Int64(s.skippedSteps)
        eval_batches = Int64(s.evalBatches)
        save_steps = Int64(s.saveSteps)
        world_size = Int64(s.worldSize)
        process_index = Int64(s.processIndex)
        is_world_process_zero = s.isWorldProcessZero
        is_local_process_zero = s.isLocalProcessZero
        best_model_checkpoint = nil  // set by the caller, who keeps the text alive
    }
}

extension st_trainer_control {
    init(_ c: TrainerControl) {
        self.init(should_training_stop: c.shouldTrainingStop, should_epoch_stop: c.shouldEpochStop,
                  should_save: c.shouldSave, should_evaluate: c.shouldEvaluate, should_log: c.shouldLog)
    }

    var swift: TrainerControl {
        var c = TrainerControl()
        c.shouldTrainingStop = should_training_stop
        c.shouldEpochStop = should_epoch_stop
        c.shouldSave = should_save
        c.shouldEvaluate = should_evaluate
        c.shouldLog = should_log
        return c
    }
}

/// Hands metrics to the caller as a new st_metrics handle (or NULL when `out` is NULL).
private func give(_ metrics: Metrics?, _ out: UnsafeMutablePointer<OpaquePointer?>?) {
    out?.pointee = metrics.map { Handle.make(MetricsBox($0)) }
}

func trainer(_ handle: OpaquePointer?, _ fn: String) throws -> Trainer {
    try Handle.get(handle, as: Trainer.self, fn, "trainer")
}

@c @implementation
public func st_trainer_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ model: OpaquePointer?,
                              _ loss: st_loss, _ args: UnsafePointer<st_training_args>?) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let fn = "st_trainer_create"
        let m = try Handle.get(model, as: Module.self, fn, "model")
        let a = try TrainingArguments(try required(args, fn, "args").pointee)
        guard let kind = LossKind(rawValue: Int32(bitPattern: loss.rawValue)) else {
            throw SwiftTrainError(.invalidArgument, "\(fn): unknown loss \(Int32(bitPattern: loss.rawValue)); "
                + "use ST_LOSS_CROSS_ENTROPY or ST_LOSS_MSE")
        }
        let t = try Trainer(model: m, loss: kind, args: a)
        try Handle.output(out, fn) { t }
        StopBoard.register(t, handle: out!.pointee!)
    }
}

@c @implementation
public func st_trainer_set_train_dataset(_ handle: OpaquePointer?, _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_set_train_dataset"
        let t = try trainer(handle, fn)
        t.trainDataset = try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
    }
}

@c @implementation
public func st_trainer_set_eval_dataset(_ handle: OpaquePointer?, _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_set_eval_dataset"
        let t = try trainer(handle, fn)
        t.evalDataset = dataset == nil ? nil : try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
    }
}

@c @implementation
public func st_trainer_add_eval_dataset(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                        _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_add_eval_dataset"
        let t = try trainer(handle, fn)
        let key = String(cString: try required(name, fn, "name"))
        try t.addEvalDataset(try Handle.get(dataset, as: (any DataSource).self, fn, "dataset"), name: key)
    }
}

@c @implementation
public func st_trainer_add_callback(_ handle: OpaquePointer?, _ callback: st_callback_fn?,
                                    _ userData: UnsafeMutableRawPointer?, _ eventMask: UInt64) -> st_status {
    status {
        let fn = "st_trainer_add_callback"
        let t = try trainer(handle, fn)
        let function = try required(callback, fn, "callback")
        let tag = CCallbackTag(function: unsafeBitCast(function, to: UInt.self), userData: UInt(bitPattern: userData))
        t.addCallback(EventMask(rawValue: eventMask), tag: tag) { data, state, control in
            let event = data.event
            var c = st_trainer_control(control)
            let rc = MetricsBox.lend(data.metrics) { lent in
                var s = st_trainer_state(state, metrics: lent)
                s.event_serial = data.serial
                guard let best = state.bestModelCheckpoint else {
                    return function(st_event(rawValue: UInt32(event.rawValue)), &s, &c, userData)
                }
                return best.withCString { path in
                    s.best_model_checkpoint = path
                    return function(st_event(rawValue: UInt32(event.rawValue)), &s, &c, userData)
                }
            }
            control = c.swift
            if rc != 0 {
                throw SwiftTrainError(.callbackAborted,
                                      "a callback returned \(rc) during \(event.hfName); training was aborted")
            }
        }
    }
}

/// How a C callback is known for st_trainer_remove_callback: its function and user_data.
struct CCallbackTag: Hashable {
    let function: UInt
    let userData: UInt
}

@c @implementation
public func st_trainer_remove_callback(_ handle: OpaquePointer?, _ callback: st_callback_fn?,
                                       _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let fn = "st_trainer_remove_callback"
        let t = try trainer(handle, fn)
        let function = try required(callback, fn, "callback")
        let tag = CCallbackTag(function: unsafeBitCast(function, to: UInt.self), userData: UInt(bitPattern: userData))
        guard t.removeCallbacks(tagged: tag) > 0 else {
            throw SwiftTrainError(.notFound, "\(fn): no callback with this function and user_data is registered "
                                  + "(it was never added, or was removed already)")
        }
    }
}

@c @implementation
public func st_trainer_request_stop(_ handle: OpaquePointer?, _ save: Bool) -> st_status {
    // No status() closure, no lock, no error text: this runs in signal handlers.
    StopBoard.request(handle, save: save) ? ST_OK : ST_ENOTFOUND
}

@c @implementation
public func st_trainer_set_compute_metrics(_ handle: OpaquePointer?, _ function: st_compute_metrics_fn?,
                                           _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let t = try trainer(handle, "st_trainer_set_compute_metrics")
        guard let function else {
            t.computeMetrics = nil
            return
        }
        t.computeMetrics = { p in
            let capacity = Int(ST_MAX_COMPUTED_METRICS)
            var out = [st_metric_value](repeating: st_metric_value(name: nil, value: 0), count: capacity)
            var count = 0
            let predictionShape = p.predictionShape.map(Int64.init), labelShape = p.labelShape.map(Int64.init)
            let rc = p.predictions.withUnsafeBufferPointer { predictions in
                withOptionalBuffer(p.labelIds) { labelIds in
                    withOptionalBuffer(p.targets) { targets in
                        predictionShape.withUnsafeBufferPointer { ps in
                            labelShape.withUnsafeBufferPointer { ls in
                                p.metricKeyPrefix.withCString { prefix in
                                    var view = st_eval_prediction(
                                        struct_size: librarySize(st_eval_prediction.self), predictions: predictions.baseAddress, num_samples: Int64(p.numSamples),
                                        num_outputs: Int64(p.numOutputs), label_ids: labelIds,
                                        targets: targets, target_width: Int64(p.targetWidth), metric_key_prefix: prefix,
                                        prediction_shape: ps.baseAddress, prediction_ndim: ps.count,
                                        label_shape: labelIds == nil && targets == nil ? nil : ls.baseAddress,
                                        label_ndim: labelIds == nil && targets == nil ? 0 : ls.count)
                                    return function(&out, capacity, &count, &view, userData)
                                }
                            }
                        }
                    }
                }
            }
            if rc != 0 {
                throw SwiftTrainError(.callbackAborted, "the compute-metrics function returned \(rc); the evaluation was aborted")
            }
            guard count >= 0, count <= capacity else {
                throw SwiftTrainError(.invalidArgument,
                    "the compute-metrics function reported \(count) metrics; it may return at most \(capacity)")
            }
            var metrics = Metrics()
            for m in out.prefix(count) {
                guard let name = m.name else {
                    throw SwiftTrainError(.invalidArgument, "the compute-metrics function returned a metric whose name is NULL")
                }
                metrics[String(cString: name)] = m.value
            }
            return metrics
        }
    }
}

@c @implementation
public func st_trainer_train(_ outMetrics: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?) -> st_status {
    status {
        outMetrics?.pointee = nil
        let t = try trainer(handle, "st_trainer_train")
        let metrics = try StopBoard.training(t, handle) { try t.train() }
        give(metrics, outMetrics)
    }
}

@c @implementation
public func st_trainer_get_state(_ out: UnsafeMutablePointer<st_trainer_state>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_get_state"
        let t = try trainer(handle, fn)
        let destination = try required(out, fn, "out")
        let size = Int(destination.pointee.struct_size)
        let minimum = MemoryLayout<st_trainer_state>.offset(of: \st_trainer_state.metrics)! + MemoryLayout<OpaquePointer?>.size
        guard size >= minimum else {
            throw SwiftTrainError(.invalidArgument,
                "\(fn): out->struct_size is \(size); set it to sizeof(st_trainer_state) before the call")
        }
        var state = st_trainer_state(t.state, metrics: nil)
        state.struct_size = UInt32(min(size, MemoryLayout<st_trainer_state>.size))
        let byteCount = Int(state.struct_size)
        withUnsafeBytes(of: &state) { bytes in
            UnsafeMutableRawPointer(destination).copyMemory(from: bytes.baseAddress!, byteCount: byteCount)
        }
    }
}

@c @implementation
public func st_trainer_evaluate(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_evaluate"
        let result = try required(out, fn, "out")
        result.pointee = nil
        let t = try trainer(handle, fn)
        let d = dataset == nil ? nil : try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
        give(try t.evaluate(d), result)
    }
}

@c @implementation
public func st_trainer_evaluate_prefixed(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                         _ dataset: OpaquePointer?, _ prefix: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_trainer_evaluate_prefixed"
        let result = try required(out, fn, "out")
        result.pointee = nil
        let t = try trainer(handle, fn)
        let d = dataset == nil ? nil : try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
        let key = String(cString: try required(prefix, fn, "metric_key_prefix"))
        give(try t.evaluate(d, metricKeyPrefix: key), result)
    }
}

@c @implementation
public func st_trainer_predict(_ out: UnsafeMutablePointer<Float>?, _ outCount: Int,
                               _ outMetrics: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                               _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_predict"
        outMetrics?.pointee = nil
        let buffer = try required(out, fn, "out")
        let t = try trainer(handle, fn)
        let d = try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
        let metrics = try t.predict(d, into: UnsafeMutableBufferPointer(start: buffer, count: outCount))
        give(metrics, outMetrics)
    }
}

@c @implementation
public func st_trainer_num_outputs(_ out: UnsafeMutablePointer<Int64>?, _ handle: OpaquePointer?,
                                   _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_num_outputs"
        let t = try trainer(handle, fn)
        let d = try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
        try required(out, fn, "out").pointee = Int64(try t.numOutputs(for: d))
    }
}

@c @implementation
public func st_trainer_state_json(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ length: UnsafeMutablePointer<Int>?,
                                  _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_state_json"
        try giveText(Array(try trainer(handle, fn).state.hfJSON().utf8), buffer, capacity, length, fn)
    }
}

@c @implementation
public func st_trainer_allennlp_metrics_json(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                                            _ length: UnsafeMutablePointer<Int>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_allennlp_metrics_json"
        try giveText(Array((try trainer(handle, fn).state.allenNLPMetrics().serialized() + "\n").utf8), buffer, capacity, length, fn)
    }
}

@c @implementation
public func st_trainer_state_json_format(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                                         _ length: UnsafeMutablePointer<Int>?, _ state: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_trainer_state_json_format"
        let source = String(cString: try required(state, fn, "state"))
        let text: String
        do {
            text = try TrainerState.hfJSON(formatting: try JSONValue.parse(source))
        } catch let error as SwiftTrainError {  // invalid JSON reads as ST_ECORRUPT: an argument here
            throw SwiftTrainError(.invalidArgument, "\(fn): \(error.message)")
        }
        try giveText(Array(text.utf8), buffer, capacity, length, fn)
    }
}

/// The library's buffer protocol for text and bytes: *length always receives the size (without
/// the NUL); the bytes (and, with `nul`, a NUL) are written when `capacity` is enough,
/// otherwise ST_ESHAPE.
func giveText(_ bytes: [UInt8], _ buffer: UnsafeMutableRawPointer?, _ capacity: Int, _ length: UnsafeMutablePointer<Int>?,
              _ fn: String, nul: Bool = true) throws {
    try required(length, fn, "length").pointee = bytes.count
    let needed = bytes.count + (nul ? 1 : 0)
    guard capacity < 0 || capacity >= needed else {  // a size_t above Int.max is plenty
        throw SwiftTrainError(.shapeMismatch, "\(fn): needs \(needed) bytes, capacity is \(capacity)")
    }
    let out = try required(buffer, fn, "buffer")
    out.copyMemory(from: bytes, byteCount: bytes.count)
    if nul { out.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self) }
}

func giveText(_ bytes: [UInt8], _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ length: UnsafeMutablePointer<Int>?,
              _ fn: String) throws {
    try giveText(bytes, UnsafeMutableRawPointer(buffer), capacity, length, fn)
}

@c @implementation
public func st_trainer_log_history_count(_ out: UnsafeMutablePointer<Int>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_log_history_count"
        let t = try trainer(handle, fn)
        try required(out, fn, "out").pointee = t.state.logHistory.count
    }
}

@c @implementation
public func st_trainer_log_history_entry(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                         _ index: Int) -> st_status {
    status {
        let fn = "st_trainer_log_history_entry"
        let result = try required(out, fn, "out")
        result.pointee = nil
        let history = try trainer(handle, fn).state.logHistory
        guard index >= 0, index < history.count else {
            throw SwiftTrainError(.invalidArgument,
                                  "\(fn): index \(index) is out of range; the log history has \(history.count) entries")
        }
        give(history[index], result)
    }
}

@c @implementation
public func st_trainer_free(_ handle: OpaquePointer?) {
    StopBoard.unregister(handle)
    Handle.release(handle)
}

/// Runs `body` with the array's base address, or nil.
func withOptionalBuffer<T, R>(_ array: [T]?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
}

@c @implementation
public func st_trainer_predict_tensors(_ outPredictions: UnsafeMutablePointer<OpaquePointer?>?,
                                      _ outLabels: UnsafeMutablePointer<OpaquePointer?>?,
                                      _ outMetrics: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                      _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_predict_tensors"
        outPredictions?.pointee = nil
        outLabels?.pointee = nil
        outMetrics?.pointee = nil
        let predictionsOut = try required(outPredictions, fn, "out_predictions")
        let t = try trainer(handle, fn)
        let d = try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
        let (p, metrics) = try t.predictionOutput(d)
        guard p.predictionShape.count <= Int(ST_MAX_DIMS), p.labelShape.count <= Int(ST_MAX_DIMS) else {
            throw SwiftTrainError(.invalidArgument, "\(fn): the predictions have more than \(ST_MAX_DIMS) dimensions")
        }
        let predictions = try p.predictions.withUnsafeBytes {
            try Tensor(copying: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, shape: p.predictionShape)
        }
        var labels: Tensor?
        if let ids = p.labelIds {
            labels = try ids.withUnsafeBytes { try Tensor(copying: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, shape: p.labelShape, dtype: .int64) }
        } else if let targets = p.targets {
            labels = try targets.withUnsafeBytes { try Tensor(copying: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, shape: p.labelShape) }
        }
        predictionsOut.pointee = Handle.make(predictions)
        if let outLabels, let labels { outLabels.pointee = Handle.make(labels) }
        give(metrics, outMetrics)
    }
}

@c @implementation
public func st_trainer_builtin_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                    _ logits: OpaquePointer?, _ labels: OpaquePointer?) -> st_status {
    let fn = "st_trainer_builtin_loss"
    return outputTensor(out, fn) {
        try trainer(handle, fn).builtInLoss(logits: try tensor(logits, fn, "logits"), labels: try tensor(labels, fn, "labels"))
    }
}

@c @implementation
public func st_trainer_default_loss(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                    _ outputs: OpaquePointer?, _ inputs: OpaquePointer?) -> st_status {
    let fn = "st_trainer_default_loss"
    return outputTensor(out, fn) {
        let given = try Handle.get(outputs, as: NamedTensorsBox.self, fn, "outputs").entries
        let batch = try Handle.get(inputs, as: NamedTensorsBox.self, fn, "inputs").entries
        return try trainer(handle, fn).defaultLoss(
            outputs: try ModelOutput(given.map { (String(cString: $0.name), $0.tensor) }),
            inputs: try Batch(batch.map { (String(cString: $0.name), $0.tensor) }))
    }
}
