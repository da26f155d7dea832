import PublicHeader
import SwiftTrain

/// st_enum_from_name and st_enum_names: the header's enums by the names users write. The
/// tables are the core's own (the ones its parsers read); this file only says which table is
/// which kind and keeps their names as C strings.

/// One enum of the header: its kind (the name st_enum_from_name takes) and its (name, value)
/// pairs, the names as C strings that live as long as the library.
private struct EnumKind {
    let kind: String
    let names: [String]
    let values: [Int32]
    let cNames: [UnsafePointer<CChar>]

    init<T: RawRepresentable<Int32>>(_ kind: String, _ table: [(String, T)]) {
        self.kind = kind
        names = table.map(\.0)
        values = table.map(\.1.rawValue)
        cNames = names.map { UnsafePointer(strdupSwift($0)) }  // never freed: library lifetime
    }

    /// "unknown reduction 'x'; choose one of: none, mean, sum, batchmean"
    func unknown(_ name: String) -> SwiftTrainError {
        SwiftTrainError(.invalidArgument,
                        "unknown \(kind.replacingUnderscores) '\(name)'; choose one of: \(names.joined(separator: ", "))")
    }
}

/// Every kind, in the header's order of the enums. Built once, on first use.
nonisolated(unsafe) private let enumKinds: [EnumKind] = [
    EnumKind("dtype", DType.names),
    EnumKind("reduction", Reduction.names),
    EnumKind("comparison", Comparison.names),
    EnumKind("activation", ActivationKind.names),
    EnumKind("optimizer", TrainingArguments.optimizerNames),
    EnumKind("lr_scheduler", TrainingArguments.schedulerNames),
    EnumKind("nonfinite_policy", TrainingArguments.nonFiniteGradNormNames),
    EnumKind("momentum_scheduler", TrainingArguments.momentumSchedulerNames),
    EnumKind("interval_strategy", TrainingArguments.strategyNames),
    EnumKind("loss", LossKind.names),
    EnumKind("save_strategy", TrainingArguments.saveStrategyNames),
    EnumKind("metrics_format", MetricsLogger.Format.names),
]

/// The kind named by the C string `kind`, or an error listing the kinds.
private func enumKind(_ kind: UnsafePointer<CChar>?, _ fn: String) throws -> EnumKind {
    let name = String(cString: try required(kind, fn, "kind"))
    guard let hit = enumKinds.first(where: { $0.kind == name }) else {
        throw SwiftTrainError(.invalidArgument,
                              "\(fn): unknown kind '\(name)'; choose one of: \(enumKinds.map(\.kind).joined(separator: ", "))")
    }
    return hit
}

@c @implementation
public func st_enum_from_name(_ out: UnsafeMutablePointer<Int32>?, _ kind: UnsafePointer<CChar>?,
                              _ name: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_enum_from_name"
        let result = try required(out, fn, "out")
        let table = try enumKind(kind, fn)
        let text = String(cString: try required(name, fn, "name"))
        guard let index = table.names.firstIndex(of: text) else { throw table.unknown(text) }
        result.pointee = table.values[index]
    }
}

@c @implementation
public func st_enum_names(_ names: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ values: UnsafeMutablePointer<Int32>?,
                          _ capacity: Int, _ count: UnsafeMutablePointer<Int>?, _ kind: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_enum_names"
        let n = try required(count, fn, "count")
        let table = try enumKind(kind, fn)
        try giveNamesAndValues(table.cNames, table.values, into: names, values, capacity: capacity, count: n,
                               fn, what: "names of '\(table.kind)'")
    }
}

/// The names-and-values protocol of st_enum_names and st_layer_defaults: *count gets the
/// number of entries; capacity 0 only asks for it; a capacity too small is ST_ESHAPE (nothing
/// written); else names[i] and values[i] are filled.
func giveNamesAndValues<V>(_ cNames: [UnsafePointer<CChar>?], _ entries: [V],
                           into names: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ values: UnsafeMutablePointer<V>?,
                           capacity: Int, count: UnsafeMutablePointer<Int>, _ fn: String, what: String) throws {
    count.pointee = entries.count
    guard capacity != 0 else { return }  // asks for the count
    guard capacity < 0 || entries.count <= capacity else {  // a size_t above Int.max is "plenty"
        throw SwiftTrainError(.shapeMismatch, "\(fn): the \(entries.count) \(what) do not fit capacity \(capacity)")
    }
    let outNames = try required(names, fn, "names"), outValues = try required(values, fn, "values")
    for i in entries.indices {
        outNames[i] = cNames[i]
        outValues[i] = entries[i]
    }
}

private extension String {
    /// "lr_scheduler" -> "lr scheduler", for messages.
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
