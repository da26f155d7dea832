import XCTest
@testable import SwiftTrain

/// AllenNLP's result of train() (its metrics.json), read from the state (issue 12).
final class AllenNLPResultTests: XCTestCase {
    func testTheResultNamesTheBestAndTheLastEpochAsAllenNLP() throws {
        let t = try TrainerFlowTests.trainer {
            $0.numTrainEpochs = 3; $0.evalStrategy = .epoch; $0.loggingSteps = 10; $0.metricForBestModel = "accuracy"
        }
        t.evalDataset = try Digits.dataset("test")
        try t.train()
        guard case let .object(fields) = t.state.allenNLPMetrics() else { return XCTFail("not an object") }
        let result: [String: JSONValue] = Dictionary(uniqueKeysWithValues: fields.map { ($0.0, $0.1) })
        let evaluations = t.state.logHistory.filter { $0["eval_loss"] != nil }
        XCTAssertEqual(evaluations.count, 3)
        let bestIndex = evaluations.indices.max { evaluations[$0]["eval_accuracy"]! < evaluations[$1]["eval_accuracy"]! }!
        XCTAssertEqual(result["epoch"], .int(2))
        XCTAssertEqual(result["best_epoch"], .int(bestIndex))
        XCTAssertEqual(result["best_validation_accuracy"], .double(evaluations[bestIndex]["eval_accuracy"]!))
        XCTAssertEqual(result["validation_loss"], .double(evaluations[2]["eval_loss"]!))
        XCTAssertNil(result["validation_runtime"])
        let lastEpochLosses = t.state.logHistory.filter { $0["loss"] != nil && $0["epoch"]! > 2 }.map { $0["loss"]! }
        XCTAssertEqual(result["training_loss"], .double(lastEpochLosses.reduce(0, +) / Double(lastEpochLosses.count)))
        guard case let .string(duration)? = result["training_duration"] else { return XCTFail("no duration") }
        XCTAssertTrue(duration.hasPrefix("0:00:"), duration)
    }

    func testDurationsAreSpelledAsPythonTimedelta() {
        XCTAssertEqual(TrainerState.timedelta(0), "0:00:00")
        XCTAssertEqual(TrainerState.timedelta(62.5), "0:01:02.500000")
        XCTAssertEqual(TrainerState.timedelta(3 * 3600 + 4.000001), "3:00:04.000001")
        XCTAssertEqual(TrainerState.timedelta(86_400 + 1), "1 day, 0:00:01")
        XCTAssertEqual(TrainerState.timedelta(2 * 86_400), "2 days, 0:00:00")
    }
}
