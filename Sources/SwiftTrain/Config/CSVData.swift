/// A dataset from a CSV file of numbers, for configs ({"type": "csv", ...}):
/// - "path": the file (relative paths from the working directory);
/// - "label_column": the column holding the label or target (default -1, the last);
/// - "task": "classification" (integer labels, the default) or "regression" (float targets);
/// - "feature_scale": every feature is multiplied by it (default 1; the digits use 1/16);
/// - "header": whether the first line names the columns (default false);
/// - "sample_shape": the shape each row's features are read as (e.g. [1, 8, 8] for a
///   convolutional model; default the flat row).
enum CSVData {
    static let keys = ["path", "label_column", "task", "feature_scale", "header", "sample_shape"]

    /// The handwritten digits the repository ships ({"type": "digits", "split": "train"}):
    /// `directory`/`split`.csv (default data/digits, from the working directory), 64 pixels
    /// scaled to [0, 1] and the digit; "sample_shape" as for "csv" ([1, 8, 8] for a CNN).
    static let digitsKeys = ["split", "directory", "sample_shape"]

    static func digits(_ o: inout ConfigObject) throws -> DataSource {
        let split = try o.string("split")
        guard split == "train" || split == "test" else {
            throw ConfigObject.error(o.path("split"), "expected \"train\" or \"test\", got \"\(split)\"")
        }
        let directory = try o.string("directory", "data/digits")
        var csv: [(String, JSONValue)] = [("path", .string(Files.join(directory, split + ".csv"))),
                                          ("feature_scale", .double(1.0 / 16))]
        if let shape = o.value("sample_shape") { csv.append(("sample_shape", shape)) }
        var object = try ConfigObject(.object(csv), path: o.path)
        return try read(&object)
    }

    static func read(_ o: inout ConfigObject) throws -> DataSource {
        let path = try o.string("path")
        let labelColumn = try o.int("label_column", -1)
        let task = try o.string("task", "classification")
        guard task == "classification" || task == "regression" else {
            throw ConfigObject.error(o.path("task"), "expected \"classification\" or \"regression\", got \"\(task)\"")
        }
        let scale = Float(try o.double("feature_scale", 1))
        let header = try o.bool("header", false)
        let shape = try o.value("sample_shape").map { v -> [Int] in
            guard let a = v.arrayValue, let dims = Optional(a.compactMap(\.intValue)), dims.count == a.count else {
                throw ConfigObject.error(o.path("sample_shape"), "expected a list of integers, got \(ConfigObject.kind(v))")
            }
            return dims
        }
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch let error as SwiftTrainError {
            throw ConfigObject.error(o.path("path"), error.message)
        }
        var features: [Float] = [], labels: [Int64] = [], targets: [Float] = []
        var columns = -1, row = 0
        for (number, line) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            let text = String(decoding: line.last == 13 ? line.dropLast() : line[...], as: UTF8.self)
            if text.allSatisfy({ $0 == " " }) || (header && number == 0) { continue }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            if columns < 0 { columns = fields.count }
            guard fields.count == columns, columns >= 2 else {
                throw ConfigObject.error(o.path("path"), "\(path) line \(number + 1) has \(fields.count) columns, "
                    + "expected \(columns) (at least 2: features and the label)")
            }
            let label = labelColumn < 0 ? columns + labelColumn : labelColumn
            guard (0..<columns).contains(label) else {
                throw ConfigObject.error(o.path("label_column"), "\(labelColumn) is not a column of \(path) (it has \(columns))")
            }
            for (i, field) in fields.enumerated() {
                guard let value = Double(field.trimmingSpaces), value.isFinite else {
                    throw ConfigObject.error(o.path("path"), "\(path) line \(number + 1), column \(i + 1): \"\(field)\" is not a number")
                }
                if i != label {
                    features.append(Float(value) * scale)
                } else if task == "regression" {
                    targets.append(Float(value))
                } else {
                    guard value.isFinite, let label = Int64(exactly: value), label >= 0 else {
                        throw ConfigObject.error(o.path("path"), "\(path) line \(number + 1): the label \(field) is not a class index "
                            + "(a whole number >= 0); use \"task\": \"regression\" for float targets")
                    }
                    labels.append(label)
                }
            }
            row += 1
        }
        guard row > 0 else { throw ConfigObject.error(o.path("path"), "\(path) has no rows") }
        let dataset: Dataset
        if task == "regression" {
            dataset = try features.withUnsafeBufferPointer { x in
                try targets.withUnsafeBufferPointer { y in
                    try Dataset(copying: x.baseAddress!, numSamples: row, numFeatures: columns - 1, targets: .values(y.baseAddress!, width: 1))
                }
            }
        } else {
            dataset = try Dataset(features: features, numFeatures: columns - 1, labels: labels)
        }
        if let shape {
            do { try dataset.setSampleShape(shape) } catch let error as SwiftTrainError {
                throw ConfigObject.error(o.path("sample_shape"), error.message)
            }
        }
        return dataset
    }
}
