import XCTest
@testable import SwiftTrain

/// HF's DefaultFlowCallback rules, best-model tracking and early stopping.
final class FlowTests: XCTestCase {
    /// A trainer on the digits (45 steps of 32 per epoch) with the given arguments, and the
    /// (event, global step) pairs of its LOG / EVALUATE events after training.
    private func run(_ configure: (inout TrainingArguments) -> Void) throws -> (Trainer, [(TrainerEvent, Int)]) {
        manualSeed(0)
        var args = TrainingArguments()
        args.perDeviceTrainBatchSize = 32
        args.perDeviceEvalBatchSize = 128
        args.learningRate = 5e-3
        args.loggingSteps = 1000
        configure(&args)
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = try Digits.dataset("train")
        trainer.evalDataset = try Digits.dataset("test")
        var seen: [(TrainerEvent, Int)] = []
        trainer.addCallback([.init(.evaluate), .init(.log)]) { event, state, _, _ in seen.append((event, state.globalStep)) }
        try trainer.train()
        return (trainer, seen)
    }

    func testFractionalStepsAreRatiosOfTheTotal() throws {
        let (trainer, seen) = try run { $0.maxSteps = 40; $0.loggingSteps = 0.25; $0.evalStrategy = .steps; $0.evalSteps = 0.5 }
        XCTAssertEqual(trainer.state.loggingSteps, 10)
        XCTAssertEqual(trainer.state.evalSteps, 20)
        XCTAssertEqual(seen.filter { $0.0 == .evaluate }.map(\.1), [20, 40])
    }

    func testEvalDelayAndEvalOnStart() throws {
        let (_, seen) = try run { $0.maxSteps = 40; $0.evalStrategy = .steps; $0.evalSteps = 10; $0.evalDelay = 25; $0.evalOnStart = true }
        XCTAssertEqual(seen.filter { $0.0 == .evaluate }.map(\.1), [0, 30, 40])
        let (_, byEpoch) = try run { $0.numTrainEpochs = 3; $0.evalStrategy = .epoch; $0.evalDelay = 2 }
        XCTAssertEqual(byEpoch.filter { $0.0 == .evaluate }.map(\.1), [90, 135])
    }

    func testLoggingNanInfFilterReplacesANonFiniteStepLoss() {
        var tracker = Trainer.LossTracker(filterNonFinite: true)
        tracker.add(1)
        tracker.add(3)
        tracker.add(.nan)
        XCTAssertEqual(tracker.sinceLog, 6)  // 1 + 3 + their average 2
        var unfiltered = Trainer.LossTracker(filterNonFinite: false)
        unfiltered.add(.infinity)
        XCTAssertEqual(unfiltered.sinceLog, .infinity)
    }

    func testBestMetricAndLoadBestModelAtEnd() throws {
        let (trainer, _) = try run { $0.numTrainEpochs = 4; $0.evalStrategy = .epoch; $0.loadBestModelAtEnd = true
            $0.metricForBestModel = "accuracy" }
        let history = trainer.state.logHistory.filter { $0["eval_accuracy"] != nil }
        let best = history.max { $0["eval_accuracy"]! < $1["eval_accuracy"]! }!
        XCTAssertEqual(trainer.state.bestMetric, best["eval_accuracy"])
        XCTAssertEqual(trainer.state.bestGlobalStep.map(Double.init), history.first { $0["eval_accuracy"] == best["eval_accuracy"] }!["step"])
        // the model now holds the best weights: evaluating gives the best accuracy again
        XCTAssertEqual(try trainer.evaluate()["eval_accuracy"], best["eval_accuracy"])
    }

    func testEarlyStoppingWithPatienceAndThreshold() throws {
        // an improvement threshold no evaluation can meet: stop after `patience` evaluations past the first
        let (trainer, seen) = try run { $0.numTrainEpochs = 20; $0.evalStrategy = .epoch; $0.earlyStoppingPatience = 2
            $0.earlyStoppingThreshold = 10 }
        XCTAssertEqual(seen.filter { $0.0 == .evaluate }.count, 3)
        XCTAssertEqual(trainer.state.globalStep, 3 * 45)
        // AllenNLP's spelling: "patience" and validation_metric "+accuracy"
        var args = TrainingArguments()
        try args.set("patience", "3")
        try args.set("validation_metric", "+accuracy")
        XCTAssertEqual(args.earlyStoppingPatience, 3)
        XCTAssertEqual(args.bestModelMetric, "eval_accuracy")
        XCTAssertTrue(args.resolvedGreaterIsBetter)
        XCTAssertThrowsError(try args.set("validation_metric", "accuracy")) { XCTAssertTrue("\($0)".contains("must start with +")) }
    }

    func testArgumentCombinationsFailBeforeTraining() throws {
        var args = TrainingArguments()
        args.loadBestModelAtEnd = true
        XCTAssertThrowsError(try args.validate()) { XCTAssertTrue("\($0)".contains("load_best_model_at_end"), "\($0)") }
        args = TrainingArguments()
        args.loggingSteps = 1.5
        XCTAssertThrowsError(try args.validate()) { XCTAssertTrue("\($0)".contains("logging_steps"), "\($0)") }
        XCTAssertThrowsError(try run { $0.maxSteps = 10; $0.evalStrategy = .steps; $0.evalSteps = 5; $0.metricForBestModel = "f2" }) {
            XCTAssertTrue("\($0)".contains("metric_for_best_model 'eval_f2'"), "\($0)")
        }
    }
}

final class BuiltInMetricsTests: XCTestCase {
    func testEvaluationReportsTheBuiltInMetrics() throws {
        manualSeed(0)
        var args = TrainingArguments()
        args.maxSteps = 30
        args.perDeviceTrainBatchSize = 32
        args.learningRate = 5e-3
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = try Digits.dataset("train")
        try trainer.train()
        let m = try trainer.evaluate(try Digits.dataset("test"))
        for key in ["eval_accuracy", "eval_top5_accuracy", "eval_precision_macro", "eval_recall_macro", "eval_f1_macro"] {
            let v = try XCTUnwrap(m[key], key)
            XCTAssertTrue(v > 0 && v <= 1, "\(key) = \(v)")
        }
        XCTAssertGreaterThan(m["eval_top5_accuracy"]!, m["eval_accuracy"]!)
        // the same numbers as the accumulator over the predictions
        let test = try Digits.load("test")
        let (logits, _) = try trainer.predict(try Digits.dataset("test"))
        var c = ClassificationMetrics(classes: 10, topK: 5)
        logits.withUnsafeBufferPointer { l in test.labels.withUnsafeBufferPointer { c.add(logits: l.baseAddress!, rows: test.labels.count, labels: $0.baseAddress!) } }
        XCTAssertEqual(m["eval_f1_macro"], c.f1Macro)
    }
}
