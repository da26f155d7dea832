import XCTest
@testable import SwiftTrain

/// Config data from .npy and safetensors files (issue 14), written here by hand; .npz files
/// come from NumPy in Tests/python/test_config_data.py.
final class ArrayDataTests: XCTestCase {
    /// An .npy file (format 1.0) of `values` with NumPy's descr and shape.
    static func npy(_ descr: String, _ shape: [Int], _ bytes: [UInt8], fortran: Bool = false) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(dims), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let n = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(header.utf8) + bytes
    }

    static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    /// The digits' first `rows` training rows, as float64 features [rows, 1, 8, 8] and int32 labels.
    private func digits(rows: Int) throws -> (features: [Double], labels: [Int32]) {
        let text = try String(contentsOfFile: ConfigTests.root + "/data/digits/train.csv", encoding: .utf8)
        var x: [Double] = [], y: [Int32] = []
        for line in text.split(separator: "\n").prefix(rows) {
            let v = line.split(separator: ",").map { Double($0)! }
            x += v.dropLast().map { $0 / 16 }
            y.append(Int32(v.last!))
        }
        return (x, y)
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = try CheckpointResumeTests.temporaryDirectory() + "/" + name
        try Safetensors.writeFile(bytes, to: path)
        return path
    }

    private let model = #"{"type": "sequential", "layers": [{"type": "flatten"}, {"type": "linear", "in_features": 64, "out_features": 10}]}"#
    private let trainer = #"{"max_steps": 150, "learning_rate": 0.01, "save_strategy": "no", "report_to": ["none"], "logging_strategy": "no"}"#

    func testNpyFilesTrainAClassifier() throws {
        let (x, y) = try digits(rows: 1000)
        let features = try write(Self.npy("<f8", [1000, 1, 8, 8], Self.bytes(x)), "x.npy")
        let labels = try write(Self.npy("<i4", [1000], Self.bytes(y)), "y.npy")
        let e = try Experiment(text: """
            {"model": \(model), "trainer": \(trainer),
             "train_data": {"type": "npy", "features": "\(features)", "labels": "\(labels)"},
             "validation_data": {"type": "csv", "path": "\(ConfigTests.root)/data/digits/test.csv", "feature_scale": 0.0625,
                                 "sample_shape": [1, 8, 8]}}
            """)
        let data = try XCTUnwrap(e.trainDataset as? Dataset)
        XCTAssertEqual(data.sampleShape, [1, 8, 8])  // the array's own
        XCTAssertEqual(data.numSamples, 1000)
        try e.trainer.train()
        XCTAssertGreaterThan(try e.trainer.evaluate()["eval_accuracy"] ?? 0, 0.85)
    }

    func testSafetensorsTensorsByNameTrainARegression() throws {
        let (x, y) = try digits(rows: 1000)
        let items = [("pixels", "F32", [1000, 64], Self.bytes(x.map { Float($0) })), ("value", "F64", [1000, 1], Self.bytes(y.map { Double($0) }))]
        let file = try items.map { $0.3 }.withUnsafeBufferPointers { buffers in
            try Safetensors.serialize(zip(items, buffers).map { Safetensors.Item(name: $0.0.0, dtype: $0.0.1, shape: $0.0.2, data: $0.1) })
        }
        let path = try write(file, "d.safetensors")
        let e = try Experiment(text: """
            {"model": {"type": "sequential", "layers": [{"type": "linear", "in_features": 64, "out_features": 64}, {"type": "relu"},
                                                        {"type": "linear", "in_features": 64, "out_features": 1}]},
             "loss": "mse", "trainer": {"max_steps": 600, "per_device_train_batch_size": 32, "learning_rate": 0.003,
                                        "save_strategy": "no", "report_to": ["none"], "logging_strategy": "no"},
             "train_data": {"type": "safetensors", "path": "\(path)", "features": "pixels", "labels": "value", "task": "regression"}}
            """)
        try e.trainer.train()
        XCTAssertGreaterThan(try e.trainer.evaluate(e.trainDataset)["eval_r2"] ?? 0, 0.5)
        // errors name the key path and the file
        let cases: [(String, String)] = [
            (#"{"features": "pixel"}"#, "train_data.features: '\(path)' has no tensor \"pixel\"; it has "),
            (#"{"task": "classification"}"#, "train_data.labels: '\(path)' tensor 'value' is float64; classification needs integer"),
            (#"{"path": "/nonexistent/d.safetensors"}"#, "train_data.path:"),
        ]
        for (override, message) in cases {
            XCTAssertThrowsError(try Experiment(text: e.config.serialized(), overrides: #"{"train_data": \#(override)}"#)) {
                XCTAssertTrue("\($0)".contains(message), "\(override): \($0)")
            }
        }
    }

    func testBadArrayFilesAreNamedWithTheirKeyPath() throws {
        let x = try write(Self.npy("<f4", [4, 2], Self.bytes([Float](repeating: 1, count: 8))), "x.npy")
        let cases: [(String, [UInt8], String)] = [
            ("labels", Self.npy("<i8", [3], Self.bytes([Int64](repeating: 0, count: 3))), "has shape [3], but the features '\(x)' have 4 samples"),
            ("labels", Self.npy("<i8", [4], Self.bytes([Int64(0), 1, -1, 0])), "element 2 is -1; class indices are >= 0"),
            ("labels", Self.npy(">i8", [4], Self.bytes([Int64](repeating: 0, count: 4))), "holds '>i8' elements; accepted: float32"),
            ("labels", Self.npy("<i8", [4], Self.bytes([Int64](repeating: 0, count: 3))), "does not match its 24 bytes"),
            ("labels", Self.npy("<i8", [2, 2], Self.bytes([Int64](repeating: 0, count: 4)), fortran: true), "Fortran order"),
            ("labels", Array("not numpy".utf8), "is not a .npy file NumPy wrote"),
        ]
        for (key, bytes, message) in cases {
            let y = try write(bytes, "y.npy")
            XCTAssertThrowsError(try Experiment(text: """
                {"model": {"type": "linear", "in_features": 2, "out_features": 2},
                 "train_data": {"type": "npy", "features": "\(x)", "labels": "\(y)"}}
                """)) {
                XCTAssertTrue("\($0)".contains("config: train_data.\(key): ") && "\($0)".contains(message), "\(message): \($0)")
            }
        }
        XCTAssertThrowsError(try Experiment(text: """
            {"model": {"type": "linear", "in_features": 2, "out_features": 2}, "train_data": {"type": "npy", "features": "\(x)", "label": "y"}}
            """)) { XCTAssertTrue("\($0)".contains("train_data.label: unknown key; accepted here: type, features, labels"), "\($0)") }
    }
}

private extension Array where Element == [UInt8] {
    /// Calls `body` with a raw buffer of each array (all alive during the call).
    func withUnsafeBufferPointers<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        func go(_ i: Int, _ done: [UnsafeRawBufferPointer]) throws -> R {
            guard i < count else { return try body(done) }
            return try self[i].withUnsafeBytes { try go(i + 1, done + [$0]) }
        }
        return try go(0, [])
    }
}
