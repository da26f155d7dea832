#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keras' TerminateOnNaN: stops training (gracefully: the step ends, TRAIN_END runs) at the
/// first step whose loss is NaN or infinite.
public enum TerminateOnNaN {
    /// The events it needs.
    public static let events = EventMask([.init(.stepEnd)])

    /// The rule, shared by every face: true when `state` says training must stop.
    public static func shouldStop(_ state: TrainerState) -> Bool { state.globalStep > 0 && !state.loss.isFinite }

    public static func callback(_ event: TrainerEvent, _ state: TrainerState, _ control: inout TrainerControl,
                                _ metrics: Metrics?) {
        if shouldStop(state) { control.shouldTrainingStop = true }
    }
}

/// Writes every LOG event's metrics to a file as they happen: JSON Lines (one object per
/// entry, with "step" first) or CSV (a header with every name seen so far, "step" first; the
/// file is rewritten when a new name appears, as Lightning's CSVLogger does). Register with
/// `trainer.addCallback(MetricsLogger.events, priority: MetricsLogger.priority, logger.callback)`.
public final class MetricsLogger {
    /// Values match the C API's st_metrics_format.
    public enum Format: Int32, Sendable, CaseIterable {
        case jsonl = 0, csv = 1

        /// The names ("jsonl", "csv"); the C API's st_enum_from_name / st_enum_names
        /// ("metrics_format") read this table.
        public static let names: [(String, Format)] = [("jsonl", .jsonl), ("csv", .csv)]
    }

    public static let events = EventMask([.init(.log)])
    /// Loggers run after every other callback (Composer's order).
    public static let priority = Int.max

    public let path: String
    public let format: Format
    private var file: UnsafeMutablePointer<FILE>?
    private var columns: [String] = ["step"]
    private var rows: [[String: String]] = []
    private var headerWritten = false

    /// Creates (truncates) the file; throws `.io` naming it when it cannot be opened.
    /// `resumingAt`: a run resumed from the checkpoint of that step continues the file
    /// instead: the entries logged up to that step are kept and those past it dropped, as the
    /// resumed run logs them again (TensorBoard's purge_step), and new entries are appended.
    /// Under an MPI launcher, only process 0 creates the file (in data-parallel training only
    /// it logs); another process opens it at its first entry, if it ever logs one.
    public init(path: String, format: Format, resumingAt step: Int? = nil) throws {
        guard !path.isEmpty else { throw SwiftTrainError.invalid("MetricsLogger: the path is empty") }
        self.path = path
        self.format = format
        resumingAt = step
        if ProcessGroup.launcherRank == 0 { try openFile() }
    }

    private let resumingAt: Int?

    private func openFile() throws {
        if let step = resumingAt, Files.exists(path) {
            let text = String(decoding: try Files.read(path), as: UTF8.self)
            let kept = try keep(text, upTo: step)
            try Files.writeAtomically(Array(kept.utf8), to: path)
            file = try Self.open(path, "a")
        } else {
            file = try Self.open(path, "w")
        }
    }

    /// The lines of `text` (this logger's format) logged at `step` or before, and for CSV the
    /// columns and rows it continues from.
    private func keep(_ text: String, upTo step: Int) throws -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        switch format {
        case .jsonl:  // {"step": N, ...}: lines this logger did not write are kept
            lines.removeAll { line in
                guard line.hasPrefix("{\"step\": ") else { return false }
                let digits = line.dropFirst(9).prefix { $0.isNumber || $0 == "-" }
                return Int(digits).map { $0 > step } ?? false
            }
        case .csv:  // a header ("step" first), then rows whose first field is the step
            guard let header = lines.first else { return "" }
            let names = Self.csvFields(header)
            guard names.first == "step" else {
                throw SwiftTrainError.invalid("MetricsLogger: '\(path)' does not start with a \"step\" column, so the run "
                    + "cannot continue it; move it away or give another path")
            }
            lines = [header] + lines.dropFirst().filter { Int(Self.csvFields($0).first ?? "").map { $0 <= step } ?? true }
            columns = names
            rows = lines.dropFirst().map { line in
                Dictionary(zip(names, Self.csvFields(line)).filter { !$0.1.isEmpty }, uniquingKeysWith: { a, _ in a })
            }
            headerWritten = true
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The fields of one CSV line as csvField writes them (quoted when they hold , " or a line break).
    private static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], field = "", quoted = false, previous: Character = " "
        for c in line {
            if quoted {
                if c == "\"" { quoted = false } else { field.append(c) }
            } else if c == "\"" {
                if previous == "\"" { field.append("\"") }  // "" inside quotes
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
            previous = c
        }
        return fields + [field]
    }

    deinit { if let file { fclose(file) } }

    /// Appends one entry (the metrics of a LOG event at `step`).
    public func write(_ metrics: Metrics, step: Int) throws {
        if file == nil && !headerWritten { try openFile() }
        switch format {
        case .jsonl:
            var line = "{\"step\": \(step)"
            for (name, value) in metrics where name != "step" {
                line += ", "
                JSONValue.quote(name, into: &line)
                line += ": " + Self.number(value)
            }
            try put(line + "}\n")
        case .csv:
            var row = ["step": String(step)]
            for (name, value) in metrics where name != "step" { row[name] = Self.number(value) }
            rows.append(row)
            let new = metrics.map(\.name).filter { $0 != "step" && !columns.contains($0) }
            if new.isEmpty && headerWritten {
                try put(csvLine(row))
            } else {  // the first entry or a new column: rewrite the file with the (wider) header
                columns += new
                if let file { fclose(file) }
                file = nil
                file = try Self.open(path, "w")
                try put(([columns.map(Self.csvField).joined(separator: ",")] + rows.map { String(csvLine($0).dropLast()) })
                    .joined(separator: "\n") + "\n")
                headerWritten = true
            }
        }
    }

    /// The callback to register (see the type's documentation).
    public var callback: TrainerCallback {
        { [self] _, state, _, metrics in
            if let metrics, state.isWorldProcessZero { try write(metrics, step: state.globalStep) }
        }
    }

    private func csvLine(_ row: [String: String]) -> String {
        columns.map { row[$0].map(Self.csvField) ?? "" }.joined(separator: ",") + "\n"
    }

    private static func csvField(_ s: String) -> String {
        s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 })  // , " \n \r
            ? "\"" + s.replacingOccurrences("\"", "\"\"") + "\"" : s
    }

    /// Python's repr of a float for finite values; NaN / Infinity as Python's json writes them.
    private static func number(_ d: Double) -> String {
        d.isNaN ? "NaN" : d.isInfinite ? (d > 0 ? "Infinity" : "-Infinity") : "\(d)"
    }

    private func put(_ text: String) throws {
        guard let file, fputs(text, file) >= 0, fflush(file) == 0 else {
            throw SwiftTrainError(.io, "MetricsLogger: cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    private static func open(_ path: String, _ mode: String) throws -> UnsafeMutablePointer<FILE> {
        guard let f = fopen(path, mode) else {
            throw SwiftTrainError(.io, "MetricsLogger: cannot open '\(path)' for writing: \(String(cString: strerror(errno)))"
                + "; check that its directory exists and is writable")
        }
        return f
    }
}

private extension String {
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
