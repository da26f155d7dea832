import Foundation
import XCTest
import SwiftTrain

/// Evaluation and prediction through the trainer, best-model tracking and checkpoint
/// rotation, label_names, and the misuse and datasets the trainer refuses (what
/// train_digits.c, errors_trainer.c, user_code.c and test_training.py assert through C and Python).
final class TrainerEvaluationTests: XCTestCase {
    typealias Flow = TrainerFlowTests

    /// The first `count` digits of a split.
    private func digits(_ split: String, _ count: Int, labelled: Bool = true) throws -> Dataset {
        let (x, y) = try Digits.load(split)
        return try Dataset(features: Array(x.prefix(count * 64)), numFeatures: 64, labels: labelled ? Array(y.prefix(count)) : nil)
    }

    func testComputeMetricsFollowTheBuiltInOnesReplaceSameNamesAndTakeThePrefix() throws {
        let t = try Flow.trainer { $0.maxSteps = 5; $0.perDeviceEvalBatchSize = 30 }
        let hundred = try digits("test", 100)
        var seen: [(prefix: String, shape: [Int], labels: Int?, targets: Bool)] = []
        t.computeMetrics = { p in
            seen.append((p.metricKeyPrefix, p.predictionShape, p.labelIds?.count, p.targets != nil))
            return Metrics([("accuracy", 0.25), ("eval_custom", 3), ("n", Double(p.numSamples))])
        }
        let m = try t.evaluate(hundred)
        XCTAssertEqual(m.map(\.name), ["eval_loss", "eval_accuracy", "eval_top5_accuracy", "eval_precision_macro",
                                       "eval_recall_macro", "eval_f1_macro", "eval_custom", "eval_n", "eval_runtime",
                                       "eval_samples_per_second", "eval_steps_per_second", "epoch"])
        XCTAssertEqual(m["eval_accuracy"], 0.25)  // the user's value replaces the built-in one
        XCTAssertEqual(m["eval_custom"], 3)  // already prefixed: not prefixed again
        XCTAssertEqual(m["eval_n"], 100)
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen[0].prefix, "eval")
        XCTAssertEqual(seen[0].shape, [100, 10])  // every batch (30 + 30 + 30 + 10) collected
        XCTAssertEqual(seen[0].labels, 100)
        XCTAssertEqual(seen[0].targets, false)
        // another prefix (HF's metric_key_prefix); prediction uses "test"
        let val = try t.evaluate(hundred, metricKeyPrefix: "val")
        XCTAssertEqual(val["val_n"], 100)
        XCTAssertEqual(val["val_accuracy"], 0.25)
        XCTAssertEqual(seen.last?.prefix, "val")
        XCTAssertEqual(try t.predict(hundred).metrics?["test_n"], 100)
        // removed: the built-in metrics alone
        t.computeMetrics = nil
        let plain = try t.evaluate(hundred)
        XCTAssertNil(plain["eval_n"])
        XCTAssertNotEqual(plain["eval_accuracy"], 0.25)
        // a metric without a name is an error
        t.computeMetrics = { _ in Metrics([("", 1)]) }
        XCTAssertThrowsError(try t.evaluate(hundred)) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .invalidArgument)
            XCTAssertTrue("\($0)".contains("empty name"), "\($0)")
        }
    }

    func testComputeMetricsPerNamedEvaluationSetDuringTraining() throws {
        let t = try Flow.trainer { $0.maxSteps = 10; $0.evalStrategy = .steps; $0.evalSteps = 10 }
        try t.addEvalDataset(try digits("test", 40), name: "a")
        try t.addEvalDataset(try digits("test", 70), name: "b")
        var prefixes: [String] = []
        t.computeMetrics = { p in prefixes.append(p.metricKeyPrefix); return Metrics([("n", Double(p.numSamples))]) }
        try t.train()
        XCTAssertEqual(prefixes, ["eval_a", "eval_b"])
        let entries = t.state.logHistory.filter { $0["eval_a_n"] != nil || $0["eval_b_n"] != nil }
        XCTAssertEqual(entries.map { $0["eval_a_n"] ?? $0["eval_b_n"]! }, [40, 70])
        XCTAssertEqual(entries.map { $0["step"]! }, [10, 10])
    }

    func testComputeMetricsGetRegressionTargets() throws {
        manualSeed(0)
        var generator = Generator(seed: 1)
        let x = (0..<64 * 3).map { _ in generator.uniform(-1, 1) }
        let y: [Float] = (0..<64).map { (i: Int) -> Float in
            let row = x[(3 * i)..<(3 * i + 3)]
            return row.reduce(0, +)
        }
        let data = try x.withUnsafeBufferPointer { xs in
            try y.withUnsafeBufferPointer { try Dataset(copying: xs.baseAddress!, numSamples: 64, numFeatures: 3, targets: .values($0.baseAddress!, width: 1)) }
        }
        var args = TrainingArguments.noSaving
        args.maxSteps = 5
        let t = try Trainer(model: try Linear(3, 1), loss: .mse, args: args)
        var seen: (shape: [Int], width: Int, targets: [Float]?, labelIds: [Int64]?)?
        t.computeMetrics = { p in
            seen = (p.predictionShape, p.targetWidth, p.targets, p.labelIds)
            let worst = zip(p.predictions, p.targets!).map { abs($0 - $1) }.max()!
            return Metrics([("max_abs_error", Double(worst))])
        }
        let m = try t.evaluate(data)
        XCTAssertEqual(seen?.shape, [64, 1])
        XCTAssertEqual(seen?.width, 1)
        XCTAssertEqual(seen?.targets, y)
        XCTAssertNil(seen?.labelIds)
        XCTAssertGreaterThanOrEqual(m["eval_max_abs_error"]!, m["eval_mse"]!.squareRoot() - 1e-6)
        XCTAssertNotNil(m["eval_r2"])
    }

    func testGreaterIsBetterDecidesWhichEvaluationIsTheBest() throws {
        func run(_ greaterIsBetter: Bool?) throws -> (Trainer, [(step: Int, accuracy: Double)]) {
            let t = try Flow.trainer {
                $0.maxSteps = 30; $0.evalStrategy = .steps; $0.evalSteps = 5; $0.metricForBestModel = "accuracy"
                $0.greaterIsBetter = greaterIsBetter
            }
            t.evalDataset = try digits("test", 200)
            var seen: [(Int, Double)] = []
            t.addCallback(EventMask(.evaluate)) { _, state, _, metrics in seen.append((state.globalStep, metrics!["eval_accuracy"]!)) }
            try t.train()
            return (t, seen)
        }
        // by default a metric not ending in "loss" is better when greater (HF)
        let (higher, evals) = try run(nil)
        XCTAssertEqual(evals.map(\.step), [5, 10, 15, 20, 25, 30])
        let best = evals.map(\.accuracy).max()!
        XCTAssertEqual(higher.state.bestMetric, best)
        XCTAssertEqual(higher.state.bestGlobalStep, evals.first { $0.accuracy == best }!.step)
        // "eval_accuracy" names the same metric as "accuracy"
        var args = TrainingArguments.noSaving
        args.metricForBestModel = "eval_accuracy"
        XCTAssertEqual(args.bestModelMetric, "eval_accuracy")
        XCTAssertTrue(args.resolvedGreaterIsBetter)
        args.metricForBestModel = "f1_loss"
        XCTAssertFalse(args.resolvedGreaterIsBetter)
        let (lower, same) = try run(false)
        XCTAssertEqual(same.map(\.accuracy), evals.map(\.accuracy))  // the same run, judged otherwise
        let worst = same.map(\.accuracy).min()!
        XCTAssertNotEqual(worst, best)
        XCTAssertEqual(lower.state.bestMetric, worst)
        XCTAssertEqual(lower.state.bestGlobalStep, same.first { $0.accuracy == worst }!.step)
    }

    func testLoadBestModelAtEndFollowsTheEvalLossByDefault() throws {
        // A high constant rate makes the evaluation loss go up and down.
        let t = try Flow.trainer {
            $0.maxSteps = 40; $0.evalStrategy = .steps; $0.evalSteps = 5; $0.loadBestModelAtEnd = true
            $0.learningRate = 0.05; $0.lrSchedulerType = .constant
        }
        t.evalDataset = try digits("test", 200)
        var losses: [(step: Int, loss: Double)] = []
        t.addCallback(EventMask(.evaluate)) { _, state, _, metrics in losses.append((state.globalStep, metrics!["eval_loss"]!)) }
        try t.train()
        let best = losses.min { $0.loss < $1.loss }!
        XCTAssertEqual(t.state.bestMetric, best.loss)
        XCTAssertEqual(t.state.bestGlobalStep, best.step)
        XCTAssertNotEqual(best.step, 40, "the test needs a run whose last evaluation is not its best")
        // the model holds the best evaluation's weights again
        XCTAssertEqual(try t.evaluate()["eval_loss"], best.loss)
    }

    func testSaveTotalLimitKeepsTheNewestCheckpoints() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let t = try Flow.trainer { $0.maxSteps = 20; $0.saveStrategy = .steps; $0.saveSteps = 5; $0.saveTotalLimit = 2; $0.outputDir = dir }
        var saves: [(step: Int, disk: [Int])] = []
        t.addCallback(EventMask(.save)) { _, state, _, _ in
            saves.append((state.globalStep, (try? CheckpointDirectory.list(dir).map(\.step)) ?? []))
        }
        try t.train()
        XCTAssertEqual(saves.map(\.step), [5, 10, 15, 20])
        XCTAssertEqual(saves.map(\.disk), [[5], [5, 10], [10, 15], [15, 20]])  // rotated before SAVE fires
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["checkpoint-15", "checkpoint-20"])
    }

    func testNamedEvaluationSetsAreNotCheckedWhenNeverEvaluated() throws {
        // eval_strategy "no": nothing follows metric_for_best_model, and no set is evaluated
        let t = try Flow.trainer { $0.maxSteps = 5; $0.metricForBestModel = "accuracy" }
        try t.addEvalDataset(try digits("test", 50), name: "valid")
        try t.train()
        XCTAssertEqual(t.state.globalStep, 5)
        XCTAssertNil(t.state.bestMetric)
        XCTAssertNotNil(try t.evaluate()["eval_valid_accuracy"])
    }

    /// The digits with their labels under another name.
    final class RenamedLabels: DataSource {
        let data: Dataset
        init(_ data: Dataset) { self.data = data }
        var count: Int? { data.count }
        func batch(indices: ArraySlice<Int>) throws -> Batch {
            let b = try data.batch(indices: indices)
            return try Batch([("input", b["input"]!), ("digit", b["labels"]!)])
        }
    }

    func testLabelNamesNameTheLabels() throws {
        let renamed = RenamedLabels(try Digits.dataset("train"))
        let without = try Flow.trainer { $0.maxSteps = 10 }
        without.trainDataset = renamed
        XCTAssertThrowsError(try without.train()) { XCTAssertTrue("\($0)".contains("digit"), "\($0)") }

        let plain = try Flow.trainer { $0.maxSteps = 10 }
        try plain.train()
        let named = try Flow.trainer { $0.maxSteps = 10; $0.labelNames = ["digit"] }
        named.trainDataset = renamed
        try named.train()
        XCTAssertEqual(named.model.stateDict().map(\.tensor.values), plain.model.stateDict().map(\.tensor.values))
        let test = try Digits.dataset("test")
        XCTAssertEqual(try named.evaluate(RenamedLabels(test))["eval_accuracy"], try plain.evaluate(test)["eval_accuracy"])
        var names = TrainingArguments.noSaving
        try names.set("label_names", "start_positions, end_positions")
        XCTAssertEqual(names.labelNames, ["start_positions", "end_positions"])
    }

    func testMisuseIsReportedBeforeAnyStep() throws {
        manualSeed(0)
        let bare = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: .noSaving)
        XCTAssertThrowsError(try bare.train()) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .misuse)
            XCTAssertTrue("\($0)".contains("dataset"), "\($0)")
        }
        XCTAssertThrowsError(try bare.evaluate()) { XCTAssertEqual(($0 as? SwiftTrainError)?.code, .misuse) }
        XCTAssertThrowsError(try bare.evaluate(try digits("test", 10), metricKeyPrefix: "")) {
            XCTAssertTrue("\($0)".contains("metric_key_prefix"), "\($0)")
        }
        // eval_strategy other than "no" without an evaluation dataset
        let wantsEval = try Flow.trainer { $0.evalStrategy = .epoch }
        var steps = 0
        wantsEval.addCallback(EventMask(.stepEnd)) { _, _, _, _ in steps += 1 }
        XCTAssertThrowsError(try wantsEval.train()) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .invalidArgument)
            XCTAssertTrue("\($0)".contains("eval_strategy"), "\($0)")
        }
        XCTAssertEqual(steps, 0)
        // a callback asking for an evaluation with no evaluation dataset
        let asks = try Flow.trainer { $0.maxSteps = 5 }
        asks.addCallback(EventMask(.stepEnd)) { _, state, control, _ in if state.globalStep == 2 { control.shouldEvaluate = true } }
        XCTAssertThrowsError(try asks.train()) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .misuse)
            XCTAssertTrue("\($0)".contains("no evaluation dataset"), "\($0)")
        }
        XCTAssertEqual(asks.state.globalStep, 2)
    }

    func testDatasetsThatDoNotFitTheLossOrThePredictionBuffer() throws {
        let t = try Flow.trainer { $0.maxSteps = 3 }
        let hundred = try digits("test", 100)
        // predict into a buffer of the wrong size: an error naming both counts
        var buffer = [Float](repeating: 0, count: 999)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBufferPointer { try t.predict(hundred, into: $0) }) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .shapeMismatch)
            XCTAssertTrue("\($0)".contains("999") && "\($0)".contains("1000"), "\($0)")
        }
        // without labels: no training, no evaluation, but predictions without metrics
        let unlabelled = try digits("test", 100, labelled: false)
        t.trainDataset = unlabelled
        XCTAssertThrowsError(try t.train()) { XCTAssertTrue("\($0)".contains("label"), "\($0)") }
        XCTAssertThrowsError(try t.evaluate(unlabelled)) { XCTAssertTrue("\($0)".contains("label"), "\($0)") }
        let (predictions, metrics) = try t.predict(unlabelled)
        XCTAssertNil(metrics)
        XCTAssertEqual(predictions, try t.predict(hundred).predictions)
        // cross-entropy needs class labels; MSE needs float targets
        let targets = [Float](repeating: 0.5, count: 100 * 10)
        let (x, _) = try Digits.load("test")
        let regression = try Array(x.prefix(100 * 64)).withUnsafeBufferPointer { xs in
            try targets.withUnsafeBufferPointer {
                try Dataset(copying: xs.baseAddress!, numSamples: 100, numFeatures: 64, targets: .values($0.baseAddress!, width: 10))
            }
        }
        t.trainDataset = regression
        XCTAssertThrowsError(try t.train()) { XCTAssertTrue("\($0)".contains("class labels"), "\($0)") }
        var args = TrainingArguments.noSaving
        args.maxSteps = 3
        let mse = try Trainer(model: t.model, loss: .mse, args: args)
        mse.trainDataset = hundred
        XCTAssertThrowsError(try mse.train()) { XCTAssertTrue("\($0)".contains("float targets"), "\($0)") }
        mse.trainDataset = regression
        try mse.train()
        XCTAssertEqual(mse.state.globalStep, 3)
    }
}
