/// Datasets from array files, for configs: features and labels (or regression targets) as
/// arrays whose first dimension is the sample.
///
///     {"type": "npy", "features": "x.npy", "labels": "y.npy"}
///     {"type": "npz", "path": "digits.npz", "features": "x", "labels": "y"}          (np.savez)
///     {"type": "safetensors", "path": "d.safetensors", "features": "x", "labels": "y"}
///
/// Shared keys: "task" ("classification": integer labels, int64/int32/...; "regression": float
/// targets, [N] or [N, k]), "feature_scale" (default 1) and "sample_shape" (default the
/// array's own [N, ...] without N, e.g. [1, 8, 8] for images). Features are float32 or float64
/// (integers are converted too). "labels" may be left out for data only predicted on.
enum ArrayData {
    static let sharedKeys = ["features", "labels", "task", "feature_scale", "sample_shape"]
    static let npyKeys = sharedKeys
    static let archiveKeys = ["path"] + sharedKeys

    /// {"type": "npy", "features": FILE, "labels": FILE}.
    static func npy(_ o: inout ConfigObject) throws -> DataSource {
        func read(_ key: String, _ path: String) throws -> FileArray {
            let bytes = try readFile(path, o.path(key))
            return try at(o.path(key)) { try NumPyFiles.array(npy: bytes[...], source: "'\(path)'") }
        }
        let features = try read("features", try o.string("features"))
        let labels = try o.value("labels").map { _ in try read("labels", try o.string("labels")) }
        return try dataset(&o, features, labels)
    }

    /// {"type": "npz", "path": FILE, "features": NAME, "labels": NAME}.
    static func npz(_ o: inout ConfigObject) throws -> DataSource {
        let path = try o.string("path")
        let bytes = try readFile(path, o.path("path"))
        let members = try at(o.path("path")) { try NumPyFiles.members(npz: bytes, source: "'\(path)'") }
        func find(_ key: String) throws -> FileArray {
            let name = try o.string(key)
            guard let member = members.first(where: { $0.0 == name }) else {
                throw ConfigObject.error(o.path(key), "'\(path)' has no array \"\(name)\"; it has \(members.map(\.0).joined(separator: ", "))")
            }
            return try at(o.path(key)) { try NumPyFiles.array(npy: member.1, source: "'\(path)' array '\(name)'") }
        }
        let features = try find("features")
        let labels = try o.value("labels").map { _ in try find("labels") }
        return try dataset(&o, features, labels)
    }

    /// Safetensors' dtype names for the element types datasets take.
    static let safetensorsTypes = ["F32": "float32", "F64": "float64", "I64": "int64", "I32": "int32", "I16": "int16",
                                   "I8": "int8", "U8": "uint8"]

    /// {"type": "safetensors", "path": FILE, "features": NAME, "labels": NAME}.
    static func safetensors(_ o: inout ConfigObject) throws -> DataSource {
        let path = try o.string("path")
        let file = try at(o.path("path")) { try SafetensorsFile(bytes: try readFile(path, o.path("path")), source: path) }
        func find(_ key: String) throws -> FileArray {
            let name = try o.string(key)
            guard let entry = file.entry(name) else {
                throw ConfigObject.error(o.path(key), "'\(path)' has no tensor \"\(name)\"; it has \(file.entries.map(\.name).joined(separator: ", "))")
            }
            guard let dtype = safetensorsTypes[entry.dtype] else {
                throw ConfigObject.error(o.path(key), "'\(path)' tensor '\(name)' is \(entry.dtype); accepted: F32, F64, I64, I32, I16, I8, U8")
            }
            return try at(o.path(key)) {
                try FileArray(shape: entry.shape, dtype: dtype, bytes: file.bytes[entry.offset..<(entry.offset + entry.byteCount)],
                              source: "'\(path)' tensor '\(name)'")
            }
        }
        let features = try find("features")
        let labels = try o.value("labels").map { _ in try find("labels") }
        return try dataset(&o, features, labels)
    }

    /// The dataset of `features` ([N, ...]) and `labels` ([N] or [N, k]) with the shared keys.
    private static func dataset(_ o: inout ConfigObject, _ features: FileArray, _ labels: FileArray?) throws -> DataSource {
        let task = try o.string("task", "classification")
        guard task == "classification" || task == "regression" else {
            throw ConfigObject.error(o.path("task"), "expected \"classification\" or \"regression\", got \"\(task)\"")
        }
        let scale = try o.double("feature_scale", 1)
        let shape = try o.value("sample_shape").map { v -> [Int] in
            guard let a = v.arrayValue, let dims = Optional(a.compactMap(\.intValue)), dims.count == a.count else {
                throw ConfigObject.error(o.path("sample_shape"), "expected a list of integers, got \(ConfigObject.kind(v))")
            }
            return dims
        }
        guard features.shape.count >= 1, features.rows > 0 else {
            throw ConfigObject.error(o.path("features"), "\(features.source) has shape \(features.shape); expected [samples, ...] with samples > 0")
        }
        let rows = features.rows, width = features.shape.dropFirst().reduce(1, *)
        guard width > 0 else { throw ConfigObject.error(o.path("features"), "\(features.source) has no features (shape \(features.shape))") }
        var x = features.doubles().map { Float($0 * scale) }
        if let bad = x.firstIndex(where: { !$0.isFinite }) {
            throw ConfigObject.error(o.path("features"), "\(features.source) element \(bad) is not finite (after feature_scale)")
        }
        var built: Dataset
        if let labels {
            guard labels.rows == rows, labels.shape.count >= 1 else {
                throw ConfigObject.error(o.path("labels"), "\(labels.source) has shape \(labels.shape), "
                    + "but the features \(features.source) have \(rows) samples")
            }
            if task == "classification" {
                guard !labels.isFloat else {
                    throw ConfigObject.error(o.path("labels"), "\(labels.source) is \(labels.dtype); classification needs integer "
                        + "class indices (int64, int32, ...): save them with .astype(np.int64), or use \"task\": \"regression\"")
                }
                guard labels.shape.count == 1 || (labels.shape.count == 2 && labels.shape[1] == 1) else {
                    throw ConfigObject.error(o.path("labels"), "\(labels.source) has shape \(labels.shape); class labels are [samples]")
                }
                let y = labels.integers()
                if let bad = y.firstIndex(where: { $0 < 0 }) {
                    throw ConfigObject.error(o.path("labels"), "\(labels.source) element \(bad) is \(y[bad]); class indices are >= 0")
                }
                built = try Dataset(features: x, numFeatures: width, labels: y)
            } else {
                let y = labels.doubles().map { Float($0) }
                if let bad = y.firstIndex(where: { !$0.isFinite }) {
                    throw ConfigObject.error(o.path("labels"), "\(labels.source) element \(bad) is not a finite float32")
                }
                let k = labels.shape.dropFirst().reduce(1, *)
                built = try x.withUnsafeBufferPointer { xs in
                    try y.withUnsafeBufferPointer { ys in
                        try Dataset(copying: xs.baseAddress!, numSamples: rows, numFeatures: width, targets: .values(ys.baseAddress!, width: k))
                    }
                }
            }
        } else {
            built = try Dataset(features: x, numFeatures: width)
        }
        x = []
        let sampleShape = shape ?? (features.shape.count > 2 ? Array(features.shape.dropFirst()) : nil)
        if let sampleShape {
            do { try built.setSampleShape(sampleShape) } catch let error as SwiftTrainError {
                throw ConfigObject.error(o.path("sample_shape"), error.message)
            }
        }
        return built
    }

    private static func readFile(_ path: String, _ keyPath: String) throws -> [UInt8] {
        do { return try Files.read(path) } catch let error as SwiftTrainError {
            throw ConfigObject.error(keyPath, error.message)
        }
    }

    /// Runs `body`, reporting its errors at `keyPath`.
    private static func at<T>(_ keyPath: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as SwiftTrainError where !error.message.hasPrefix("config:") {
            throw ConfigObject.error(keyPath, error.message)
        }
    }
}
