import PublicHeader
import SwiftTrain
import Glibc

/// An st_metrics handle: the metrics plus their names as C strings, owned by the box.
final class MetricsBox {
    let metrics: Metrics
    private let names: [UnsafeMutablePointer<CChar>]

    init(_ metrics: Metrics) {
        self.metrics = metrics
        self.names = metrics.map { strdup($0.name)! }
    }

    deinit { for n in names { free(n) } }

    func name(at index: Int) -> UnsafePointer<CChar> { UnsafePointer(names[index]) }

    /// Runs `body` with a handle valid only during the call (for callbacks).
    static func lend<R>(_ metrics: Metrics?, _ body: (OpaquePointer?) throws -> R) rethrows -> R {
        guard let metrics else { return try body(nil) }
        let handle = Handle.make(MetricsBox(metrics))
        defer { Handle.release(handle) }
        return try body(handle)
    }
}

@c @implementation
public func st_metrics_count(_ metrics: OpaquePointer?) -> Int {
    guard metrics != nil, let box = try? Handle.get(metrics, as: MetricsBox.self, "", "") else { return 0 }
    return box.metrics.count
}

@c @implementation
public func st_metrics_entry(_ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                             _ outValue: UnsafeMutablePointer<Double>?, _ metrics: OpaquePointer?,
                             _ index: Int) -> st_status {
    status {
        let fn = "st_metrics_entry"
        let box = try Handle.get(metrics, as: MetricsBox.self, fn, "metrics")
        guard index >= 0, index < box.metrics.count else {
            throw SwiftTrainError(.invalidArgument,
                                  "\(fn): index \(index) is out of range; there are \(box.metrics.count) entries")
        }
        try required(outName, fn, "out_name").pointee = box.name(at: index)
        try required(outValue, fn, "out_value").pointee = box.metrics.entries[index].value
    }
}

@c @implementation
public func st_metrics_get(_ outValue: UnsafeMutablePointer<Double>?, _ metrics: OpaquePointer?,
                           _ name: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_metrics_get"
        let box = try Handle.get(metrics, as: MetricsBox.self, fn, "metrics")
        let key = String(cString: try required(name, fn, "name"))
        let out = try required(outValue, fn, "out_value")
        guard let value = box.metrics[key] else {
            throw SwiftTrainError(.notFound, "\(fn): no metric named '\(key)'; available: "
                + box.metrics.map(\.name).joined(separator: ", "))
        }
        out.pointee = value
    }
}

@c @implementation
public func st_metrics_free(_ metrics: OpaquePointer?) {
    Handle.release(metrics)
}
