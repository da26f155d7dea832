import Foundation
import XCTest
@testable import SwiftTrain

/// report_to tensorboard: event files TensorBoard reads, written by the core (issue 14).
final class TensorBoardTests: XCTestCase {
    /// The scalars of an event file: (tag, step, value), checking every record's CRCs.
    static func scalars(_ path: String) throws -> (version: String?, values: [(String, Int, Float)]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var at = 0, version: String?, values: [(String, Int, Float)] = []
        func little<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            bytes[offset..<offset + MemoryLayout<T>.size].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        func varint(_ data: [UInt8], _ i: inout Int) -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true { let b = data[i]; i += 1; v |= UInt64(b & 0x7F) << shift; shift += 7; if b < 0x80 { return v } }
        }
        while at < bytes.count {
            let length = Int(little(UInt64.self, at))
            XCTAssertEqual(little(UInt32.self, at + 8), TensorBoardWriter.maskedCRC(Array(bytes[at..<at + 8])))
            let data = Array(bytes[at + 12..<at + 12 + length])
            XCTAssertEqual(little(UInt32.self, at + 12 + length), TensorBoardWriter.maskedCRC(data))
            at += 16 + length
            var i = 0, step = 0
            while i < data.count {
                let key = data[i]; i += 1
                switch key {
                case 0x09: i += 8
                case 0x10: step = Int(varint(data, &i))
                case 0x1A: let n = Int(varint(data, &i)); version = String(decoding: data[i..<i + n], as: UTF8.self); i += n
                case 0x2A:
                    let end = Int(varint(data, &i)) + i
                    while i < end {
                        XCTAssertEqual(data[i], 0x0A); i += 1
                        let valueEnd = Int(varint(data, &i)) + i
                        var tag = "", value: Float = .nan
                        while i < valueEnd {
                            let k = data[i]; i += 1
                            if k == 0x0A { let n = Int(varint(data, &i)); tag = String(decoding: data[i..<i + n], as: UTF8.self); i += n }
                            else if k == 0x15 { value = Float(bitPattern: data[i..<i + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }); i += 4 }
                            else { XCTFail("unexpected field \(k)"); return (version, values) }
                        }
                        values.append((tag, step, value))
                    }
                default: XCTFail("unexpected event field \(key)"); return (version, values)
                }
            }
        }
        return (version, values)
    }

    func testEveryLoggedValueIsAScalarAtItsStep() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let t = try TrainerFlowTests.trainer {
            $0.maxSteps = 20; $0.loggingSteps = 5; $0.evalStrategy = .steps; $0.evalSteps = 10
            $0.reportTo = ["tensorboard"]; $0.loggingDir = dir + "/tb"
        }
        t.evalDataset = try Digits.dataset("test")
        try t.train()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/tb")
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files[0].hasPrefix("events.out.tfevents."), files[0])
        let (version, values) = try Self.scalars(dir + "/tb/" + files[0])
        XCTAssertEqual(version, "brain.Event:2")
        var expected: [(String, Int, Float)] = []
        for entry in t.state.logHistory {
            let step = Int(entry["step"]!)
            for (name, value) in entry where name != "step" { expected.append((TensorBoardWriter.tag(name), step, Float(value))) }
        }
        XCTAssertEqual(values.map { "\($0.0) \($0.1) \($0.2)" }, expected.map { "\($0.0) \($0.1) \($0.2)" })
        XCTAssertTrue(values.contains { $0.0 == "train/loss" && $0.1 == 5 })
        XCTAssertTrue(values.contains { $0.0 == "eval/loss" && $0.1 == 10 })
    }

    func testTheDefaultDirectoryAndTheArgumentsCheck() throws {
        var args = TrainingArguments()
        args.outputDir = "out"
        let dir = args.resolvedLoggingDir()
        XCTAssertTrue(dir.hasPrefix("out/runs/") && dir.hasSuffix("_" + TensorBoardWriter.hostName()), dir)
        try args.set("report_to", "tensorboard")
        XCTAssertTrue(args.reportsToTensorBoard)
        try args.set("report_to", "none")
        XCTAssertFalse(args.reportsToTensorBoard)
        for bad in ["wandb", "none,tensorboard"] {
            var wrong = args
            try wrong.set("report_to", bad)
            XCTAssertThrowsError(try wrong.validate()) { XCTAssertTrue("\($0)".contains("report_to"), "\($0)") }
        }
        XCTAssertEqual(TensorBoardWriter.tag("eval_accuracy"), "eval/accuracy")
        XCTAssertEqual(TensorBoardWriter.tag("test_loss"), "test/loss")
        XCTAssertEqual(TensorBoardWriter.tag("learning_rate"), "train/learning_rate")
        // CRC-32C of "123456789" is 0xE3069283 (the check value of the Castagnoli polynomial)
        XCTAssertEqual(TensorBoardWriter.crc32c(Array("123456789".utf8)), 0xE306_9283)
    }
}
