import PublicHeader
import SwiftTrain

// HF's overridable Trainer.log, Trainer.evaluate and create_optimizer_and_scheduler, and
// optimizers=(optimizer, scheduler), for bindings (Trainer+Overrides.swift in the core).

@c @implementation
public func st_trainer_set_log_function(_ handle: OpaquePointer?, _ function: st_log_fn?,
                                        _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let t = try trainer(handle, "st_trainer_set_log_function")
        try checkIdle(t, "st_trainer_set_log_function")
        guard let function else {
            t.logFunction = nil
            return
        }
        t.logFunction = { logs in
            try MetricsBox.lend(logs) { m in try callHost("the log function") { function(m, userData) } }
        }
    }
}

@c @implementation
public func st_trainer_set_evaluate_function(_ handle: OpaquePointer?, _ function: st_evaluate_fn?,
                                             _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let t = try trainer(handle, "st_trainer_set_evaluate_function")
        try checkIdle(t, "st_trainer_set_evaluate_function")
        guard let function else {
            t.evaluateFunction = nil
            return
        }
        t.evaluateFunction = {
            var result: OpaquePointer?
            defer { Handle.release(result) }  // (also when the function failed after setting it)
            try callHost("the evaluate function") { function(&result, userData) }
            guard let result else {
                throw SwiftTrainError(.invalidArgument, "the evaluate function returned 0 but set no metrics")
            }
            return try Handle.get(result, as: MetricsBox.self, "the evaluate function", "metrics").metrics
        }
    }
}

@c @implementation
public func st_metrics_create(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                              _ names: UnsafePointer<UnsafePointer<CChar>?>?, _ values: UnsafePointer<Double>?,
                              _ count: Int) -> st_status {
    status {
        out?.pointee = nil
        let fn = "st_metrics_create"
        let metrics = try metricsArgument(names, values, count, fn)
        try Handle.output(out, fn) { MetricsBox(metrics) }
    }
}

@c @implementation
public func st_trainer_set_optimizer(_ handle: OpaquePointer?, _ optimizer: OpaquePointer?,
                                     _ schedule: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_set_optimizer"
        let t = try trainer(handle, fn)
        let o = try optimizer.map { try Handle.get($0, as: Optimizer.self, fn, "optimizer") }
        let s = try schedule.map { try Handle.get($0, as: ScheduleBox.self, fn, "schedule").schedule }
        try t.setOptimizer(o, schedule: s)
    }
}

@c @implementation
public func st_trainer_set_optimizer_function(_ handle: OpaquePointer?, _ function: st_optimizer_fn?,
                                             _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let fn = "st_trainer_set_optimizer_function"
        let t = try trainer(handle, fn)
        try checkIdle(t, fn)
        guard let function else {
            t.optimizerFunction = nil
            return
        }
        t.optimizerFunction = { steps in
            var optimizer: OpaquePointer?, schedule: OpaquePointer?
            let what = "the optimizer function"
            try callHost(what) { function(&optimizer, &schedule, Int64(steps), userData) }
            return (try optimizer.map { try Handle.get($0, as: Optimizer.self, what, "optimizer") },
                    try schedule.map { try Handle.get($0, as: ScheduleBox.self, what, "schedule").schedule })
        }
    }
}

@c @implementation
public func st_trainer_optimizer_options(_ outKind: UnsafeMutablePointer<st_optimizer>?,
                                         _ out: UnsafeMutablePointer<st_optim_options>?,
                                         _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_optimizer_options"
        let t = try trainer(handle, fn)
        let kind = try required(outKind, fn, "out_kind")
        let destination = try required(out, fn, "out")
        let size = Int(destination.pointee.struct_size)
        guard size >= FirstVersion.optim, size < 1 << 16 else {
            throw SwiftTrainError(.invalidArgument,
                "\(fn): out->struct_size is \(size); set it to sizeof(st_optim_options) before the call")
        }
        var options = optimOptions(try t.optimizerOptions())
        options.struct_size = UInt32(min(size, MemoryLayout<st_optim_options>.size))
        let byteCount = Int(options.struct_size)
        withUnsafeBytes(of: &options) { bytes in
            UnsafeMutableRawPointer(destination).copyMemory(from: bytes.baseAddress!, byteCount: byteCount)
        }
        kind.pointee = st_optimizer(rawValue: UInt32(bitPattern: t.args.optim.rawValue))
    }
}

@c @implementation
public func st_trainer_parameter_decays(_ out: UnsafeMutablePointer<Bool>?, _ handle: OpaquePointer?,
                                        _ name: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_trainer_parameter_decays"
        let t = try trainer(handle, fn)
        let result = try required(out, fn, "out")
        let n = String(cString: try required(name, fn, "name"))
        guard let decays = t.parameterDecays(n) else {
            throw SwiftTrainError(.notFound, "\(fn): the model has no parameter named '\(n)'")
        }
        result.pointee = decays
    }
}

@c @implementation
public func st_trainer_create_schedule(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                                       _ numTrainingSteps: Int64) -> st_status {
    status {
        out?.pointee = nil
        let fn = "st_trainer_create_schedule"
        let t = try trainer(handle, fn)
        guard numTrainingSteps > 0, numTrainingSteps < 1 << 40 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): num_training_steps must be > 0, got \(numTrainingSteps)")
        }
        let schedule = try t.makeSchedule(total: Int(numTrainingSteps))
        try Handle.output(out, fn) { ScheduleBox(schedule) }
    }
}

private func checkIdle(_ t: Trainer, _ fn: String) throws {
    guard !t.isRunning else {
        throw SwiftTrainError(.misuse, "\(fn): not while the trainer runs; set it before train()")
    }
}
