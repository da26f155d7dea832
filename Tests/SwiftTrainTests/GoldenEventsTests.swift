import Foundation
import XCTest
@testable import SwiftTrain

/// The event sequence of Tests/fixtures/events/ga4_early_stopping.txt (see its README), which
/// the C and Python tests compare against too.
final class GoldenEventsTests: XCTestCase {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/events/ga4_early_stopping.txt")

    func testGradientAccumulationLoggingEvaluationAndEarlyStopping() throws {
        manualSeed(0)
        var args = TrainingArguments()
        args.outputDir = try CheckpointResumeTests.temporaryDirectory()
        args.saveSteps = 2
        args.perDeviceTrainBatchSize = 8
        args.perDeviceEvalBatchSize = 10
        args.gradientAccumulationSteps = 4
        args.numTrainEpochs = 3
        args.loggingSteps = 2
        args.evalStrategy = .steps
        args.evalSteps = 4
        args.earlyStoppingPatience = 1
        args.earlyStoppingThreshold = 100
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        let (x, y) = try Digits.load("train"), (tx, ty) = try Digits.load("test")
        trainer.trainDataset = try Dataset(features: Array(x.prefix(160 * 64)), numFeatures: 64, labels: Array(y.prefix(160)))
        trainer.evalDataset = try Dataset(features: Array(tx.prefix(20 * 64)), numFeatures: 64, labels: Array(ty.prefix(20)))
        var lines: [String] = []
        trainer.addCallback { event, state, _, _ in
            lines.append("\(event.hfName) \(state.globalStep) \(String(format: "%.4f", state.epoch))")
        }
        try trainer.train()
        let text = lines.joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["SWIFTTRAIN_WRITE_GOLDEN"] == "1" {
            try text.write(to: Self.file, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: Self.file, encoding: .utf8)
        XCTAssertEqual(text, golden)
        XCTAssertEqual(trainer.state.globalStep, 8)
        XCTAssertEqual(try CheckpointDirectory.list(args.outputDir).map(\.step), [2, 4, 6, 8])
    }
}
