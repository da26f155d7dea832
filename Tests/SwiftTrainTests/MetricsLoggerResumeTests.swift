import Foundation
import XCTest
@testable import SwiftTrain

/// A resumed run's metrics logger (--recover): the entries up to the checkpoint's step are
/// kept, the ones past it dropped (the run logs them again), new ones appended.
final class MetricsLoggerResumeTests: XCTestCase {
    private func temporary(_ ext: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("swifttrain-\(UUID()).\(ext)").path
    }

    func testJSONLinesPastTheStepAreDroppedAndNewOnesAppended() throws {
        let path = temporary("jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try MetricsLogger(path: path, format: .jsonl)
        for step in [5, 10, 15] { try first.write(Metrics([("loss", Double(step))]), step: step) }
        let resumed = try MetricsLogger(path: path, format: .jsonl, resumingAt: 10)
        try resumed.write(Metrics([("loss", 15.5)]), step: 15)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8),
                       "{\"step\": 5, \"loss\": 5.0}\n{\"step\": 10, \"loss\": 10.0}\n{\"step\": 15, \"loss\": 15.5}\n")
    }

    func testCSVKeepsItsColumnsAndRowsAndWidensTheHeaderLater() throws {
        let path = temporary("csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try MetricsLogger(path: path, format: .csv)
        try first.write(Metrics([("a,b", 1)]), step: 5)
        try first.write(Metrics([("a,b", 2)]), step: 6)
        try first.write(Metrics([("a,b", 3)]), step: 7)
        let resumed = try MetricsLogger(path: path, format: .csv, resumingAt: 6)
        try resumed.write(Metrics([("a,b", 4)]), step: 7)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "step,\"a,b\"\n5,1.0\n6,2.0\n7,4.0\n")
        try resumed.write(Metrics([("c", 5)]), step: 8)  // a new column: the file is rewritten with every row
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "step,\"a,b\",c\n5,1.0,\n6,2.0,\n7,4.0,\n8,,5.0\n")
    }

    func testAFreshRunOrAMissingFileStartsANewFile() throws {
        let path = temporary("jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try MetricsLogger(path: path, format: .jsonl, resumingAt: 10).write(Metrics([("x", 1)]), step: 12)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"step\": 12, \"x\": 1.0}\n")
        _ = try MetricsLogger(path: path, format: .jsonl)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "")
    }

    func testACSVWithoutAStepColumnIsNotContinued() throws {
        let path = temporary("csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("when,loss\n1,2\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try MetricsLogger(path: path, format: .csv, resumingAt: 1)) {
            XCTAssertTrue("\($0)".contains("does not start with a \"step\" column"), "\($0)")
        }
    }
}
