import PublicHeader
import SwiftTrain

/// st_layer_defaults: the core's table of layer, functional and lr scheduler defaults
/// (`LayerDefaults`) by torch's name. The names and values are the core's; this file keeps the argument names as C
/// strings and copies the values out.

/// One entry of the table: its argument names as C strings that live as long as the library.
private struct LayerEntry {
    let layer: String
    let cNames: [UnsafePointer<CChar>]
    let values: [Double]

    init(_ layer: String) {
        self.layer = layer
        let entries = LayerDefaults.entries(layer) ?? []
        cNames = entries.map { UnsafePointer(strdupSwift($0.name)) }  // never freed: library lifetime
        values = entries.map(\.value)
    }
}

/// Every entry, in the core's order. Built once, on first use.
nonisolated(unsafe) private let layerEntries: [LayerEntry] = LayerDefaults.names.map(LayerEntry.init)

@c @implementation
public func st_layer_defaults(_ names: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ values: UnsafeMutablePointer<Double>?,
                              _ capacity: Int, _ count: UnsafeMutablePointer<Int>?, _ layer: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_layer_defaults"
        let n = try required(count, fn, "count")
        let name = String(cString: try required(layer, fn, "layer"))
        guard let entry = layerEntries.first(where: { $0.layer == name }) else {
            throw SwiftTrainError(.invalidArgument,
                                  "\(fn): unknown layer '\(name)'; choose one of: \(LayerDefaults.names.joined(separator: ", "))")
        }
        try giveNamesAndValues(entry.cNames, entry.values, into: names, values, capacity: capacity, count: n,
                               fn, what: "defaults of '\(name)'")
    }
}
