import Foundation
import XCTest
@testable import SwiftTrain

final class BuiltInCallbackTests: XCTestCase {
    /// A regression dataset whose second half has a NaN feature: with one batch per
    /// half (no shuffle effect on which half is bad) some step sees a NaN loss.
    func testTerminateOnNaNStopsAtTheFirstNonFiniteLossWithTheLastGoodWeights() throws {
        manualSeed(0)
        var args = TrainingArguments.noSaving
        args.maxSteps = 50
        args.perDeviceTrainBatchSize = 8
        args.nonFiniteGradNorm = .skip
        var x = (0..<64 * 2).map { Float($0 % 7) / 7 }
        x[2 * 40] = .nan  // sample 40
        let model = try Sequential(Linear(2, 1))
        let trainer = try Trainer(model: model, loss: .mse, args: args)
        let y = [Float](repeating: 1, count: 64)
        trainer.trainDataset = try x.withUnsafeBufferPointer { xs in
            try y.withUnsafeBufferPointer { ys in
                try Dataset(copying: xs.baseAddress!, numSamples: 64, numFeatures: 2, targets: .values(ys.baseAddress!, width: 1))
            }
        }
        var weightsAfterLastUpdate: [Float] = []
        trainer.addCallback([.init(.optimizerStep)]) { _, _, _, _ in weightsAfterLastUpdate = model.parameters.flatMap(\.values) }
        trainer.addCallback(TerminateOnNaN.events, TerminateOnNaN.callback)
        var trainEnd = false
        trainer.addCallback([.init(.trainEnd)]) { _, _, _, _ in trainEnd = true }
        try trainer.train()
        XCTAssertTrue(trainEnd)
        XCTAssertFalse(trainer.state.loss.isFinite)
        XCTAssertLessThanOrEqual(trainer.state.globalStep, 8)  // the bad batch comes within the first epoch
        XCTAssertEqual(trainer.state.skippedSteps, 1)
        XCTAssertEqual(model.parameters.flatMap(\.values), weightsAfterLastUpdate)  // the last good step's weights
        XCTAssertTrue(model.parameters.flatMap(\.values).allSatisfy(\.isFinite))
    }

    private func trainWithLogger(_ format: MetricsLogger.Format) throws -> (Trainer, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swifttrain-\(UUID()).log").path
        manualSeed(0)
        var args = TrainingArguments.noSaving
        args.maxSteps = 20
        args.perDeviceTrainBatchSize = 32
        args.loggingSteps = 5
        args.evalStrategy = .steps
        args.evalSteps = 10
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = try Digits.dataset("train")
        trainer.evalDataset = try Digits.dataset("test")
        let logger = try MetricsLogger(path: path, format: format)
        trainer.addCallback(MetricsLogger.events, priority: MetricsLogger.priority, logger.callback)
        try trainer.train()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: path)
        return (trainer, text)
    }

    func testJSONLinesHoldEveryLogEntry() throws {
        let (trainer, text) = try trainWithLogger(.jsonl)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, trainer.state.logHistory.count)  // 4 step logs, 2 evaluations, the train summary
        for (line, entry) in zip(lines, trainer.state.logHistory) {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double])
            XCTAssertTrue(line.hasPrefix("{\"step\": "))
            // (Foundation's JSON parser can be off in the last bit; the text is the shortest
            // round-trip form, which the CSV test checks exactly)
            for (name, value) in entry { XCTAssertEqual(try XCTUnwrap(object[name], name), value, accuracy: abs(value) * 1e-14, name) }
        }
    }

    func testCSVHasTheUnionOfNamesAsHeader() throws {
        let (trainer, text) = try trainWithLogger(.csv)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let header = lines[0].split(separator: ",").map(String.init)
        XCTAssertEqual(header.first, "step")
        let names = Set(trainer.state.logHistory.flatMap { $0.map(\.name) })
        XCTAssertEqual(Set(header), names)
        XCTAssertEqual(lines.count - 1, trainer.state.logHistory.count)
        for (line, entry) in zip(lines.dropFirst(), trainer.state.logHistory) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(fields.count, header.count)
            for (name, value) in entry { XCTAssertEqual(Double(fields[header.firstIndex(of: name)!]), value, name) }
        }
    }

    func testCSVWritesAHeaderEvenWhenTheFirstEntryIsEmptyAndQuotesNames() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swifttrain-\(UUID()).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let logger = try MetricsLogger(path: path, format: .csv)
        try logger.write(Metrics(), step: 5)
        try logger.write(Metrics(), step: 6)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "step\n5\n6\n")
        try logger.write(Metrics([("a,b\r\n", 1)]), step: 7)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "step,\"a,b\r\n\"\n5,\n6,\n7,1.0\n")
    }

    func testAnUnwritablePathIsAnIOError() {
        XCTAssertThrowsError(try MetricsLogger(path: "/nonexistent-dir/metrics.jsonl", format: .jsonl)) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .io)
            XCTAssertTrue("\($0)".contains("/nonexistent-dir/metrics.jsonl"), "\($0)")
        }
    }
}
