import XCTest
@testable import SwiftTrain

/// HF's overridable Trainer methods in the core: logFunction, evaluateFunction and a given
/// optimizer and schedule (Trainer+Overrides.swift).
final class TrainerOverridesTests: XCTestCase {
    private func trainer(_ configure: (inout TrainingArguments) -> Void = { _ in }) throws -> Trainer {
        manualSeed(5)
        var args = TrainingArguments.noSaving
        args.maxSteps = 12
        args.loggingSteps = 4
        configure(&args)
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = try Digits.dataset("train")
        if args.evalStrategy != .no { trainer.evalDataset = try Digits.dataset("test") }
        return trainer
    }

    func testTheLogFunctionGetsEveryLogAndRecordsWhatItPassesOn() throws {
        let t = try trainer { $0.evalStrategy = .steps; $0.evalSteps = 6 }
        var seen: [Metrics] = []
        t.logFunction = { logs in
            seen.append(logs)
            if logs["train_loss"] == nil { try t.log(logs) }  // the summary is dropped
        }
        try t.train()
        // losses at steps 4, 8 and 12, evaluations at 6 and 12, then the summary
        XCTAssertEqual(seen.map { $0["eval_loss"] != nil }, [false, true, false, false, true, false])
        XCTAssertEqual(seen.last?["train_loss"] != nil, true)
        XCTAssertEqual(t.state.logHistory.count, 5)
        XCTAssertNil(t.state.logHistory.last?["train_loss"])
    }

    func testTheEvaluateFunctionsMetricsDriveTheBestModel() throws {
        let t = try trainer {
            $0.evalStrategy = .steps; $0.evalSteps = 4; $0.metricForBestModel = "score"; $0.greaterIsBetter = true
        }
        var calls = 0
        t.evaluateFunction = {
            calls += 1
            var metrics = try t.evaluate()  // nested: at once, inside the run
            metrics["eval_score"] = calls == 2 ? 1 : 0
            return metrics
        }
        try t.train()
        XCTAssertEqual(calls, 3)
        XCTAssertEqual(t.state.bestMetric, 1)
        XCTAssertEqual(t.state.bestGlobalStep, 8)
        XCTAssertEqual(t.state.logHistory.filter { $0["eval_loss"] != nil }.count, 3)
    }

    func testAGivenOptimizerAndScheduleTrainAsTheArgumentsDescribeThem() throws {
        let configure: (inout TrainingArguments) -> Void = {
            $0.optim = .sgd; $0.sgdMomentum = 0.9; $0.weightDecay = 0.01; $0.lrSchedulerType = .cosine
        }
        let own = try trainer(configure)
        try own.train()
        let given = try trainer(configure)
        try given.setOptimizer(try given.makeOptimizer(), schedule: try given.makeSchedule(total: 12))
        try given.train()
        XCTAssertEqual(own.model.parameters.map(\.values), given.model.parameters.map(\.values))
        let options = try given.optimizerOptions()
        XCTAssertEqual(options.momentum, 0.9)
        XCTAssertEqual(given.parameterDecays("0.weight"), true)
        XCTAssertEqual(given.parameterDecays("0.bias"), false)
        XCTAssertNil(given.parameterDecays("nope"))
    }

    func testTheOptimizerFunctionGetsTheRunsStepsWhenTrainingStarts() throws {
        let configure: (inout TrainingArguments) -> Void = { $0.maxSteps = -1; $0.numTrainEpochs = 1 }
        let own = try trainer(configure)
        try own.train()
        let given = try trainer(configure)
        var steps: [Int] = []
        given.optimizerFunction = { total in
            steps.append(total)
            return (try given.makeOptimizer(), try given.makeSchedule(total: total))
        }
        try given.train()
        XCTAssertEqual(steps, [180])  // ceil(1438 / 8): HF's default batch of 8
        XCTAssertEqual(own.model.parameters.map(\.values), given.model.parameters.map(\.values))
    }

    func testAForeignOptimizerOrAPlateauScheduleIsRefused() throws {
        let t = try trainer { $0.lrSchedulerType = .reduceLROnPlateau }
        let other = try Digits.mlp()
        XCTAssertThrowsError(try t.setOptimizer(try SGD([ParameterGroup(other.parameters, learningRate: 0.1)]),
                                                schedule: nil)) { error in
            XCTAssertTrue("\(error)".contains("not a parameter of the trainer's model"), "\(error)")
        }
        XCTAssertThrowsError(try t.setOptimizer(nil, schedule: .linear(warmup: 0, total: 4)))
        XCTAssertThrowsError(try t.makeSchedule(total: 4))
    }
}
