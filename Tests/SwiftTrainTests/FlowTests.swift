import XCTest
@testable import SwiftTrain

/// HF's DefaultFlowCallback rules, best-model tracking and early stopping.
final class FlowTests: XCTestCase {
    /// A trainer on the digits (45 steps of 32 per epoch) with the given arguments, and the
    /// (event, global step) pairs of its LOG / EVALUATE events after training.
    private func run(_ configure: (inout TrainingArguments) -> Void) throws -> (Trainer, [(TrainerEvent, Int)]) {
        let trainer = try TrainerFlowTests.trainer(configure)
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
        var tracker = LossTracker(filterNonFinite: true)
        tracker.add(1)
        tracker.add(3)
        tracker.add(.nan)
        XCTAssertEqual(tracker.sinceLog, 6)  // 1 + 3 + their average 2
        var unfiltered = LossTracker(filterNonFinite: false)
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
        var args = TrainingArguments.noSaving
        try args.set("patience", "3")
        try args.set("validation_metric", "+accuracy")
        XCTAssertEqual(args.earlyStoppingPatience, 3)
        XCTAssertEqual(args.bestModelMetric, "eval_accuracy")
        XCTAssertTrue(args.resolvedGreaterIsBetter)
        XCTAssertThrowsError(try args.set("validation_metric", "accuracy")) { XCTAssertTrue("\($0)".contains("must start with +")) }
    }

    func testArgumentCombinationsFailBeforeTraining() throws {
        var args = TrainingArguments.noSaving
        args.loadBestModelAtEnd = true
        XCTAssertThrowsError(try args.validate()) { XCTAssertTrue("\($0)".contains("load_best_model_at_end"), "\($0)") }
        args = TrainingArguments.noSaving
        args.loggingSteps = 1.5
        XCTAssertThrowsError(try args.validate()) { XCTAssertTrue("\($0)".contains("logging_steps"), "\($0)") }
        XCTAssertThrowsError(try run { $0.maxSteps = 10; $0.evalStrategy = .steps; $0.evalSteps = 5; $0.metricForBestModel = "f2" }) {
            XCTAssertTrue("\($0)".contains("metric_for_best_model follows 'eval_f2'"), "\($0)")
        }
    }
}

final class BuiltInMetricsTests: XCTestCase {
    func testEvaluationReportsTheBuiltInMetrics() throws {
        manualSeed(0)
        var args = TrainingArguments.noSaving
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
        // the names checked before training are the names evaluation reports
        XCTAssertEqual(m.map(\.name), trainer.metricNames(Trainer.OutputInfo(outputs: 10, classes: 10)).map { "eval_" + $0 } + ["epoch"])
    }
}

/// A digits trainer of 20 steps that evaluates every 10 (the evaluation datasets are the
/// caller's to set).
private func evaluatingTrainer(_ configure: (inout TrainingArguments) -> Void) throws -> Trainer {
    manualSeed(0)
    var args = TrainingArguments.noSaving
    args.perDeviceTrainBatchSize = 32
    args.learningRate = 5e-3
    args.maxSteps = 20
    args.evalStrategy = .steps
    args.evalSteps = 10
    configure(&args)
    let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
    trainer.trainDataset = try Digits.dataset("train")
    return trainer
}

/// Several named evaluation datasets (HF's eval_dataset dict).
final class EvalDatasetsTests: XCTestCase {
    private func trainer(_ configure: (inout TrainingArguments) -> Void = { _ in }) throws -> Trainer {
        let trainer = try evaluatingTrainer(configure)
        let (x, y) = try Digits.load("test")
        try trainer.addEvalDataset(try Dataset(features: x, numFeatures: 64, labels: y), name: "test")
        try trainer.addEvalDataset(try Dataset(features: Array(x.prefix(100 * 64)), numFeatures: 64,
                                               labels: Array(y.prefix(100))), name: "small-set")
        return trainer
    }

    func testEveryNamedSetIsEvaluatedWithItsPrefix() throws {
        let t = try trainer { $0.metricForBestModel = "small-set_accuracy"; $0.loadBestModelAtEnd = true }
        var seen: [(TrainerEvent, Int)] = []
        t.addCallback([.init(.evaluateBegin), .init(.evaluate)]) { event, state, _, _ in seen.append((event, state.globalStep)) }
        try t.train()
        XCTAssertEqual(seen.map(\.0), Array(repeating: [.evaluateBegin, .evaluate], count: 4).flatMap { $0 })
        XCTAssertEqual(seen.map(\.1), [10, 10, 10, 10, 20, 20, 20, 20])
        let evals = t.state.logHistory.filter { $0["eval_test_loss"] != nil || $0["eval_small-set_loss"] != nil }
        XCTAssertEqual(evals.count, 4)
        XCTAssertNotNil(evals[0]["eval_test_accuracy"])
        XCTAssertNil(evals[0]["eval_small-set_accuracy"])
        XCTAssertNotNil(evals[1]["eval_small-set_accuracy"])
        XCTAssertEqual(t.state.bestMetric, evals.compactMap { $0["eval_small-set_accuracy"] }.max())
        // evaluate() with no dataset runs them all; with a prefix, HF's metric_key_prefix
        let all = try t.evaluate()
        XCTAssertNotNil(all["eval_test_f1_macro"])
        XCTAssertNotNil(all["eval_small-set_f1_macro"])
        XCTAssertNotNil(try t.evaluate(metricKeyPrefix: "final")["final_test_loss"])
    }

    func testMisuseIsReportedBeforeTraining() throws {
        // the default best metric, eval_loss, does not exist when every set is named
        XCTAssertThrowsError(try trainer { $0.loadBestModelAtEnd = true }.train()) {
            XCTAssertTrue("\($0)".contains("eval_test_loss, eval_test_accuracy"), "\($0)")
        }
        let t = try trainer()
        XCTAssertThrowsError(try t.addEvalDataset(try Digits.dataset("test"), name: "test")) { XCTAssertTrue("\($0)".contains("unique")) }
        XCTAssertThrowsError(try t.addEvalDataset(try Digits.dataset("test"), name: "a b")) { XCTAssertTrue("\($0)".contains("letters")) }
        t.evalDataset = try Digits.dataset("test")  // replaces the named ones
        XCTAssertEqual(t.evalDatasets.count, 1)
        XCTAssertThrowsError(try t.addEvalDataset(try Digits.dataset("test"), name: "b")) { XCTAssertTrue("\($0)".contains("unnamed")) }
    }
}

/// User metrics from every evaluation's predictions (HF's compute_metrics).
final class ComputeMetricsTests: XCTestCase {
    private func trainer(_ configure: (inout TrainingArguments) -> Void = { _ in }) throws -> Trainer {
        let trainer = try evaluatingTrainer { $0.perDeviceEvalBatchSize = 50; configure(&$0) }
        trainer.evalDataset = try Digits.dataset("test")
        return trainer
    }

    /// Errors counted from the predictions: must agree with the built-in accuracy.
    private static func errors(_ p: EvalPrediction) -> Metrics {
        var wrong = 0
        for i in 0..<p.numSamples {
            let row = p.predictions[(i * p.numOutputs)..<((i + 1) * p.numOutputs)]
            if Int64(row.firstIndex(of: row.max()!)! - i * p.numOutputs) != p.labelIds![i] { wrong += 1 }
        }
        return Metrics([("errors", Double(wrong)), ("eval_samples", Double(p.numSamples))])
    }

    func testUserMetricsArePrefixedAndDriveBestModelTracking() throws {
        let t = try trainer { $0.metricForBestModel = "errors"; $0.greaterIsBetter = false }
        var prefixes: [String] = []
        t.computeMetrics = { p in prefixes.append(p.metricKeyPrefix); return Self.errors(p) }
        try t.train()
        let n = Double(t.evalDataset!.count!)
        let evals = t.state.logHistory.filter { $0["eval_errors"] != nil }
        XCTAssertEqual(evals.count, 2)
        for e in evals {
            XCTAssertEqual(e["eval_samples"], n)
            XCTAssertEqual(1 - e["eval_errors"]! / n, e["eval_accuracy"]!, accuracy: 1e-12)
        }
        XCTAssertEqual(t.state.bestMetric, evals.map { $0["eval_errors"]! }.min())
        XCTAssertEqual(prefixes, ["eval", "eval"])
        // predict on a labelled dataset computes them too, prefixed "test"
        XCTAssertNotNil(try t.predict(try Digits.dataset("test")).metrics?["test_errors"])
    }

    func testAnErrorInComputeMetricsSurfacesFromTrain() throws {
        struct Failure: Error {}
        let t = try trainer()
        t.computeMetrics = { _ in throw Failure() }
        var events: [TrainerEvent] = []
        t.addCallback([.init(.exception), .init(.close)]) { e, _, _, _ in events.append(e) }
        XCTAssertThrowsError(try t.train()) { XCTAssertTrue($0 is Failure, "\($0)") }
        XCTAssertEqual(events, [.exception, .close])
        XCTAssertEqual(t.state.globalStep, 10)
    }
}

/// What callbacks may ask of the flow: log, evaluate, stop (sticky).
final class ControlRequestTests: XCTestCase {
    func testCallbacksRequestLogEvaluateAndAStopNoneCanClear() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let trainer = try evaluatingTrainer {
            $0.maxSteps = 100; $0.evalStrategy = .no; $0.loggingSteps = 1000; $0.outputDir = dir
        }
        trainer.evalDataset = try Digits.dataset("test")
        var seen: [String] = []
        trainer.addCallback([.init(.stepEnd)]) { _, state, control, _ in
            if state.globalStep == 3 { control.shouldLog = true }
            if state.globalStep == 4 { control.shouldEvaluate = true }
            if state.globalStep == 5 { control.shouldSave = true }
            if state.globalStep == 6 { control.shouldTrainingStop = true }
        }
        trainer.addCallback([.init(.stepEnd)]) { _, _, control, _ in control.shouldTrainingStop = false }  // cannot clear it
        trainer.addCallback([.init(.log), .init(.evaluate), .init(.save)]) { event, state, _, metrics in
            seen.append("\(event.hfName) \(state.globalStep) \(metrics?["eval_loss"] != nil ? "eval" : "")")
        }
        try trainer.train()
        XCTAssertEqual(trainer.state.globalStep, 6)
        XCTAssertEqual(seen, ["on_log 3 ", "on_log 4 eval", "on_evaluate 4 eval", "on_save 5 ", "on_log 6 "])
        XCTAssertEqual(try CheckpointDirectory.list(dir).map(\.step), [5])  // save_strategy "no" here: only the request
    }

    /// HF's save rules: every save_steps and at the last step ("steps"), at every epoch end
    /// and the last step ("epoch"), never ("no").
    func testSaveRules() throws {
        func saves(_ configure: (inout TrainingArguments) -> Void) throws -> [Int] {
            let dir = try CheckpointResumeTests.temporaryDirectory()
            let trainer = try evaluatingTrainer { $0.evalStrategy = .no; $0.outputDir = dir; configure(&$0) }
            var steps: [Int] = []
            trainer.addCallback(EventMask(.save)) { _, state, _, _ in steps.append(state.globalStep) }
            try trainer.train()
            XCTAssertEqual(try CheckpointDirectory.list(dir).map(\.step), Array(Set(steps)).sorted())
            return steps
        }
        XCTAssertEqual(try saves { $0.saveStrategy = .steps; $0.saveSteps = 7 }, [7, 14, 20])
        XCTAssertEqual(try saves { $0.saveStrategy = .steps; $0.saveSteps = 0.25 }, [5, 10, 15, 20])  // a ratio
        XCTAssertEqual(try saves { $0.saveStrategy = .epoch; $0.maxSteps = -1; $0.numTrainEpochs = 2 }, [45, 90, 90])
        XCTAssertEqual(try saves { $0.saveStrategy = .no }, [])
        XCTAssertThrowsError(try saves { $0.saveStrategy = .best }) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("save_strategy"))
        }
    }
}
