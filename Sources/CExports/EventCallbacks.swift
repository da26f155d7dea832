import PublicHeader
import SwiftTrain

// Callbacks that get st_event_data (the core's EventData) and a priority: the batch, the
// outputs and the loss as borrowed handles, replaceable where EventData allows.

/// The events at which a callback may replace the batch, the outputs or the loss.
private let batchWritable: Set<TrainerEvent> = [.afterDataloader, .beforeForward, .evaluateBeforeForward, .predictBeforeForward]
private let outputsWritable: Set<TrainerEvent> = [.afterForward, .beforeLoss, .evaluateAfterForward, .predictAfterForward]
private let lossWritable: Set<TrainerEvent> = [.afterLoss, .beforeBackward]

/// What a C callback's st_event_data points at during one call; kept so that
/// st_event_data_set_loss finds the event's data from the struct.
private final class EventLoan {
    let data: EventData
    init(_ data: EventData) { self.data = data }
}

/// Lends `object` as a handle while `body` runs; nil stays nil.
private func lendOptional<R>(_ object: AnyObject?, _ body: (OpaquePointer?) throws -> R) rethrows -> R {
    guard let object else { return try body(nil) }
    return try lend(object) { try body($0) }
}

/// Runs `body` with an st_event_data for `data`, then takes back what the callback replaced.
private func withEventData(_ t: Trainer, trainerHandle: OpaquePointer?, _ data: EventData,
                           _ body: (UnsafeMutablePointer<st_event_data>) -> Int32) -> Int32 {
    let event = data.event
    let batchBox = data.batch.map { BatchBox($0, writable: batchWritable.contains(event)) }
    let outputsBox = data.outputs.map { OutputsBox($0) }
    let rc: Int32 = MetricsBox.lend(data.metrics) { metrics in
        lend(t.model) { model in
            lendOptional(data.optimizer) { optimizer in
                lendOptional(data.lrSchedule.map { ScheduleBox($0) }) { schedule in
                    lendOptional(batchBox) { batch in
                        lendOptional(outputsBox) { outputs in
                            lendOptional(data.loss) { loss in
                                lend(EventLoan(data)) { loan in
                                    var c = st_event_data()
                                    c.struct_size = UInt32(MemoryLayout<st_event_data>.size)
                                    c.event = st_event(rawValue: UInt32(event.rawValue))
                                    c.trainer = trainerHandle
                                    c.model = model
                                    c.optimizer = optimizer
                                    c.lr_scheduler = schedule
                                    c.metrics = metrics
                                    c.batch = batch
                                    c.outputs = outputs
                                    c.loss = loss
                                    c.internal_ = UnsafeMutableRawPointer(loan)
                                    let message = data.error.map { "\($0)" }
                                    return message.withOptionalCString { text in
                                        c.error = text
                                        return body(&c)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if let batchBox, batchWritable.contains(event) { data.batch = batchBox.batch }
    if let outputsBox, outputsWritable.contains(event), let output = outputsBox.output { data.outputs = output }
    return rc
}

private extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withCString { body($0) }
    }
}

/// How an event callback is known for st_trainer_remove_event_callback.
private struct CEventCallbackTag: Hashable {
    let function: UInt
    let userData: UInt
}

@c @implementation
public func st_trainer_add_event_callback(_ handle: OpaquePointer?, _ callback: st_event_fn?,
                                          _ userData: UnsafeMutableRawPointer?, _ eventMask: UInt64,
                                          _ priority: Int32) -> st_status {
    status {
        let fn = "st_trainer_add_event_callback"
        let t = try trainer(handle, fn)
        let function = try required(callback, fn, "callback")
        let tag = CEventCallbackTag(function: unsafeBitCast(function, to: UInt.self), userData: UInt(bitPattern: userData))
        t.addCallback(EventMask(rawValue: eventMask), priority: Int(priority), tag: tag) { [unowned t] data, state, control in
            var c = st_trainer_control(control)
            let rc = withEventData(t, trainerHandle: handle, data) { cdata in
                var s = st_trainer_state(state, metrics: cdata.pointee.metrics)
                s.event_serial = data.serial
                return (state.bestModelCheckpoint ?? "").withCString { path in
                    if state.bestModelCheckpoint != nil { s.best_model_checkpoint = path }
                    return function(cdata, &s, &c, userData)
                }
            }
            control = c.swift
            if rc != 0 {
                throw SwiftTrainError(.callbackAborted, "a callback returned \(rc) during \(data.event.hfName); training was aborted")
            }
        }
    }
}

@c @implementation
public func st_trainer_remove_event_callback(_ handle: OpaquePointer?, _ callback: st_event_fn?,
                                             _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let fn = "st_trainer_remove_event_callback"
        let t = try trainer(handle, fn)
        let function = try required(callback, fn, "callback")
        let tag = CEventCallbackTag(function: unsafeBitCast(function, to: UInt.self), userData: UInt(bitPattern: userData))
        guard t.removeCallbacks(tagged: tag) > 0 else {
            throw SwiftTrainError(.notFound, "\(fn): no event callback with this function and user_data is registered")
        }
    }
}

@c @implementation
public func st_event_data_set_loss(_ data: UnsafeMutablePointer<st_event_data>?, _ loss: OpaquePointer?) -> st_status {
    status {
        let fn = "st_event_data_set_loss"
        let d = try required(data, fn, "data")
        let loan = try Handle.get(OpaquePointer(d.pointee.internal_), as: EventLoan.self, fn, "data (not the st_event_data of a running callback)")
        guard lossWritable.contains(loan.data.event) else {
            throw SwiftTrainError(.misuse, "\(fn): the loss can be replaced at AFTER_LOSS or BEFORE_BACKWARD, not at \(loan.data.event.hfName)")
        }
        let value = try tensor(loss, fn, "loss")
        guard value.dtype == .float32, value.count == 1 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): the loss must be a float32 scalar, got \(value.dtype) \(value.shape)")
        }
        loan.data.loss = value
    }
}

@c @implementation
public func st_batch_set(_ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_batch_set"
        let box = try Handle.get(handle, as: BatchBox.self, fn, "batch")
        guard box.writable else {
            throw SwiftTrainError(.misuse, "\(fn): this batch is read-only here (a callback may change the batch at "
                + "AFTER_DATALOADER, BEFORE_FORWARD, EVALUATE_BEFORE_FORWARD and PREDICT_BEFORE_FORWARD, a data provider its own)")
        }
        let n = String(cString: try required(key, fn, "name"))
        try box.batch.set(n, try tensor(t, fn, "tensor"))
    }
}

@c @implementation
public func st_trainer_log(_ handle: OpaquePointer?, _ names: UnsafePointer<UnsafePointer<CChar>?>?,
                           _ values: UnsafePointer<Double>?, _ count: Int) -> st_status {
    status {
        let fn = "st_trainer_log"
        let t = try trainer(handle, fn)
        try t.log(try metricsArgument(names, values, count, fn))
    }
}

/// Metrics from the C arrays of their names and values (st_trainer_log, st_metrics_create).
func metricsArgument(_ names: UnsafePointer<UnsafePointer<CChar>?>?, _ values: UnsafePointer<Double>?, _ count: Int,
                     _ fn: String) throws -> Metrics {
    var m = Metrics()
    guard count > 0 else { return m }
    let names = try required(names, fn, "names"), values = try required(values, fn, "values")
    for i in 0..<count {
        let name = String(cString: try required(names[i], fn, "names[\(i)]"))
        guard !name.isEmpty, m[name] == nil else {
            throw SwiftTrainError(.invalidArgument, "\(fn): names[\(i)] is empty or repeated ('\(name)')")
        }
        m[name] = values[i]
    }
    return m
}

@c @implementation
public func st_trainer_init_end(_ handle: OpaquePointer?) -> st_status {
    status { try trainer(handle, "st_trainer_init_end").initEnd() }
}
