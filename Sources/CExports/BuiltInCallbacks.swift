import PublicHeader
import SwiftTrain

@c @implementation
public func st_metrics_logger_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ path: UnsafePointer<CChar>?,
                                     _ format: st_metrics_format) -> st_status {
    status {
        let fn = "st_metrics_logger_create"
        let result = try required(out, fn, "out")
        result.pointee = nil
        let file = String(cString: try required(path, fn, "path"))
        guard let kind = MetricsLogger.Format(rawValue: Int32(bitPattern: format.rawValue)) else {
            throw SwiftTrainError(.invalidArgument, "\(fn): unknown format \(format.rawValue); use ST_METRICS_JSONL or ST_METRICS_CSV")
        }
        result.pointee = Handle.make(try MetricsLogger(path: file, format: kind))
    }
}

@c @implementation
public func st_metrics_logger_write(_ handle: OpaquePointer?, _ names: UnsafePointer<UnsafePointer<CChar>?>?,
                                    _ values: UnsafePointer<Double>?, _ count: Int, _ step: Int64) -> st_status {
    status {
        let fn = "st_metrics_logger_write"
        let logger = try Handle.get(handle, as: MetricsLogger.self, fn, "logger")
        guard count >= 0, count <= 1 << 20 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): count \(UInt(bitPattern: count)) is not a number of metrics")
        }
        var metrics = Metrics()
        if count > 0 {
            let n = try required(names, fn, "names"), v = try required(values, fn, "values")
            for i in 0..<count {
                guard let name = n[i] else { throw SwiftTrainError(.invalidArgument, "\(fn): names[\(i)] is NULL") }
                metrics[String(cString: name)] = v[i]
            }
        }
        try logger.write(metrics, step: Int(step))
    }
}

@c @implementation
public func st_metrics_logger_free(_ handle: OpaquePointer?) {
    Handle.release(handle)
}

@c @implementation
public func st_trainer_add_metrics_logger(_ handle: OpaquePointer?, _ logger: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_add_metrics_logger"
        let t = try trainer(handle, fn)
        let l = try Handle.get(logger, as: MetricsLogger.self, fn, "logger")
        t.addCallback(MetricsLogger.events, priority: MetricsLogger.priority, l.callback)
    }
}

@c @implementation
public func st_trainer_add_terminate_on_nan(_ handle: OpaquePointer?) -> st_status {
    status {
        let t = try trainer(handle, "st_trainer_add_terminate_on_nan")
        t.addCallback(TerminateOnNaN.events, TerminateOnNaN.callback)
    }
}

@c @implementation
public func st_trainer_add_progress_bar(_ handle: OpaquePointer?, _ fd: Int32) -> st_status {
    status {
        let fn = "st_trainer_add_progress_bar"
        let t = try trainer(handle, fn)
        let bar: ProgressBar
        do { bar = try ProgressBar(fd: fd) } catch var error as SwiftTrainError {
            error.message = "\(fn): " + error.message
            throw error
        }
        t.addCallback(ProgressBar.events, priority: ProgressBar.priority, bar.callback)
    }
}
