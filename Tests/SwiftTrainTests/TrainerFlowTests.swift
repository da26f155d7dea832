import Foundation
import XCTest
import SwiftTrain

/// HF's flow as the core runs it, through the Swift API alone: when training logs, evaluates
/// and ends (logging / eval strategies and their steps, max_steps against epochs, gradient
/// accumulation, drop_last), what the logs and the log history hold, and the events of
/// evaluate() and predict() outside training. (The C and Python tests assert the same
/// through their faces; these catch a regression of the core with `swift test` alone.)
final class TrainerFlowTests: XCTestCase {
    /// The digits MLP (4810 parameters) on the 1438 training digits in batches of 32: 45
    /// optimizer steps an epoch, the last batch of each epoch 30 samples.
    static func trainer(_ configure: (inout TrainingArguments) -> Void = { _ in }) throws -> Trainer {
        manualSeed(0)
        var args = TrainingArguments.noSaving
        args.perDeviceTrainBatchSize = 32
        args.perDeviceEvalBatchSize = 128
        args.learningRate = 5e-3
        args.loggingSteps = 1000
        configure(&args)
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = try Digits.dataset("train")
        return trainer
    }

    /// What callbacks saw: every event with the step and epoch, the step losses, and the
    /// metrics of LOG events.
    final class Recorder {
        var events: [(event: TrainerEvent, step: Int, epoch: Double)] = []
        var stepLosses: [Double] = []
        var stepGradNorms: [Double] = []
        var stepRates: [Double] = []
        var logs: [(step: Int, metrics: Metrics)] = []
        var evaluations: [(step: Int, epoch: Double, metrics: Metrics)] = []

        init(_ trainer: Trainer, _ mask: EventMask = .all) {
            trainer.addCallback(mask) { [unowned self] event, state, _, metrics in
                events.append((event, state.globalStep, state.epoch))
                switch event {
                case .stepEnd:
                    stepLosses.append(state.loss)
                    stepGradNorms.append(state.gradNorm)
                    stepRates.append(state.learningRate)
                case .log: logs.append((state.globalStep, metrics!))
                case .evaluate: evaluations.append((state.globalStep, state.epoch, metrics!))
                default: break
                }
            }
        }

        func steps(of event: TrainerEvent) -> [Int] { events.filter { $0.event == event }.map(\.step) }
        func count(_ event: TrainerEvent) -> Int { events.filter { $0.event == event }.count }
        /// The logs of training steps (with "loss"), not evaluations or the train summary.
        var stepLogs: [(step: Int, metrics: Metrics)] { logs.filter { $0.metrics["loss"] != nil } }
    }

    private static let trainSummaryNames: Set<String> = ["train_runtime", "train_samples_per_second", "train_steps_per_second",
                                                         "train_loss", "epoch"]

    func testStepLogsHoldTheMeanLossSinceTheLastLogAndTheStepsState() throws {
        let trainer = try Self.trainer { $0.maxSteps = 40; $0.loggingSteps = 10 }
        let r = Recorder(trainer)
        let returned = try trainer.train()
        XCTAssertEqual(r.stepLogs.map(\.step), [10, 20, 30, 40])
        for (step, metrics) in r.stepLogs {
            XCTAssertEqual(Set(metrics.map(\.name)), ["loss", "grad_norm", "learning_rate", "epoch"])
            let window = r.stepLosses[(step - 10)..<step]
            XCTAssertEqual(metrics["loss"]!, window.reduce(0, +) / 10, accuracy: 1e-12, "loss logged at step \(step)")
            XCTAssertEqual(metrics["grad_norm"], r.stepGradNorms[step - 1])
            XCTAssertEqual(metrics["learning_rate"], r.stepRates[step - 1])
            XCTAssertEqual(metrics["epoch"]!, Double(step) / 45, accuracy: 1e-12)
        }
        // The log history: every LOG event's metrics with "step", in order; the train summary last.
        XCTAssertEqual(trainer.state.logHistory.count, r.logs.count)
        for (entry, (step, metrics)) in zip(trainer.state.logHistory, r.logs) {
            XCTAssertEqual(entry["step"], Double(step))
            XCTAssertEqual(entry.count, metrics.count + 1)
            for (name, value) in metrics { XCTAssertEqual(entry[name], value, name) }
        }
        let summary = try XCTUnwrap(trainer.state.logHistory.last)
        XCTAssertEqual(Set(summary.map(\.name)), Self.trainSummaryNames.union(["step"]))
        XCTAssertEqual(summary["step"], 40)
        XCTAssertEqual(summary["train_loss"]!, r.stepLosses.reduce(0, +) / 40, accuracy: 1e-12)
        XCTAssertEqual(summary["epoch"]!, 40.0 / 45, accuracy: 1e-12)
        // 40 steps of 32 samples (none of them an epoch's short last batch)
        let runtime = summary["train_runtime"]!
        XCTAssertGreaterThan(runtime, 0)
        XCTAssertEqual(summary["train_samples_per_second"]! * runtime, 40 * 32, accuracy: 1e-6)
        XCTAssertEqual(summary["train_steps_per_second"]! * runtime, 40, accuracy: 1e-6)
        // train() returns the summary (without "step")
        XCTAssertEqual(Set(returned.map(\.name)), Self.trainSummaryNames)
        for (name, value) in returned { XCTAssertEqual(summary[name], value, name) }
        XCTAssertEqual(r.events.suffix(4).map(\.event), [.log, .trainEnd, .close, .postClose])
    }

    func testLoggingFirstStepAndTheEpochAndNoStrategies() throws {
        var t = try Self.trainer { $0.maxSteps = 30; $0.loggingSteps = 10; $0.loggingFirstStep = true }
        var r = Recorder(t)
        try t.train()
        XCTAssertEqual(r.stepLogs.map(\.step), [1, 10, 20, 30])
        XCTAssertEqual(r.stepLogs[0].metrics["loss"], r.stepLosses[0])
        XCTAssertEqual(r.stepLogs[1].metrics["loss"]!, r.stepLosses[1..<10].reduce(0, +) / 9, accuracy: 1e-12)

        // "epoch": at every epoch end, the mean over the epoch's steps
        t = try Self.trainer { $0.numTrainEpochs = 2; $0.loggingStrategy = .epoch; $0.loggingSteps = 1 }
        r = Recorder(t)
        try t.train()
        XCTAssertEqual(r.stepLogs.map(\.step), [45, 90])
        XCTAssertEqual(r.stepLogs.map { $0.metrics["epoch"]! }, [1, 2])
        XCTAssertEqual(r.stepLogs[1].metrics["loss"]!, r.stepLosses[45..<90].reduce(0, +) / 45, accuracy: 1e-12)
        // the log comes after the epoch end (HF's on_epoch_end, then _maybe_log_save_evaluate)
        let firstEpochEnd = try XCTUnwrap(r.events.firstIndex { $0.event == .epochEnd })
        XCTAssertEqual(r.events[firstEpochEnd + 1].event, .log)

        // "no": only the train summary, unless logging_first_step asks for step 1 (as HF)
        t = try Self.trainer { $0.maxSteps = 12; $0.loggingStrategy = .no; $0.loggingSteps = 1 }
        r = Recorder(t)
        try t.train()
        XCTAssertEqual(r.logs.map(\.step), [12])
        XCTAssertNotNil(r.logs[0].metrics["train_loss"])
        t = try Self.trainer { $0.maxSteps = 12; $0.loggingStrategy = .no; $0.loggingFirstStep = true }
        r = Recorder(t)
        try t.train()
        XCTAssertEqual(r.stepLogs.map(\.step), [1])
    }

    func testEvaluationByEpochAndByStepsWithEvalStepsFromLoggingSteps() throws {
        var t = try Self.trainer { $0.numTrainEpochs = 2; $0.perDeviceTrainBatchSize = 64; $0.evalStrategy = .epoch }
        t.evalDataset = try Digits.dataset("test")
        var r = Recorder(t)
        try t.train()
        // 1438 / 64: 23 steps an epoch; evaluated at each epoch end, after the epoch's EPOCH_END
        XCTAssertEqual(r.evaluations.map(\.step), [23, 46])
        XCTAssertEqual(r.evaluations.map(\.epoch), [1, 2])
        for (_, epoch, metrics) in r.evaluations {
            XCTAssertEqual(metrics["epoch"], epoch)
            let accuracy = try XCTUnwrap(metrics["eval_accuracy"])
            XCTAssertTrue(accuracy > 0 && accuracy <= 1)
        }
        let evalEntries = t.state.logHistory.filter { $0["eval_loss"] != nil }
        XCTAssertEqual(evalEntries.map { $0["eval_loss"]! }, r.evaluations.map { $0.metrics["eval_loss"]! })
        XCTAssertEqual(evalEntries.map { $0["step"]! }, [23, 46])
        let epochEnds = r.events.indices.filter { r.events[$0].event == .epochEnd }
        for i in epochEnds { XCTAssertEqual(r.events[(i + 1)...(i + 2)].map(\.event), [.evaluateBeforeAll, .evaluateBegin]) }

        // eval_strategy "steps" without eval_steps evaluates every logging_steps (HF)
        t = try Self.trainer { $0.maxSteps = 45; $0.loggingSteps = 15; $0.evalStrategy = .steps }
        t.evalDataset = try Digits.dataset("test")
        r = Recorder(t)
        try t.train()
        XCTAssertEqual(t.state.evalSteps, 15)
        XCTAssertEqual(r.evaluations.map(\.step), [15, 30, 45])
        XCTAssertEqual(r.stepLogs.map(\.step), [15, 30, 45])
        // at each of these steps: the step's log first, then the evaluation
        let fifteen = r.events.indices.filter { r.events[$0].step == 15 && [.log, .evaluateBegin].contains(r.events[$0].event) }
        XCTAssertEqual(fifteen.map { r.events[$0].event }, [.log, .evaluateBegin, .log])
    }

    func testMaxStepsOverridesNumTrainEpochsAndFractionalEpochsRoundUp() throws {
        var t = try Self.trainer { $0.numTrainEpochs = 1; $0.maxSteps = 50 }
        var r = Recorder(t)
        var atBegin: (maxSteps: Int, epochs: Int)?
        t.addCallback(EventMask(.trainBegin)) { _, state, _, _ in atBegin = (state.maxSteps, state.numTrainEpochs) }
        try t.train()
        XCTAssertEqual(atBegin?.maxSteps, 50)
        XCTAssertEqual(atBegin?.epochs, 2)
        XCTAssertEqual(t.state.globalStep, 50)
        XCTAssertEqual(t.state.epoch, 50.0 / 45, accuracy: 1e-12)
        XCTAssertEqual(r.steps(of: .epochBegin), [0, 45])
        XCTAssertEqual(r.steps(of: .epochEnd), [45, 50])  // the cut-short second epoch ends too

        // num_train_epochs 0.5 of 45 steps: ceil(22.5) = 23 steps, one epoch
        t = try Self.trainer { $0.numTrainEpochs = 0.5 }
        r = Recorder(t)
        try t.train()
        XCTAssertEqual(t.state.maxSteps, 23)
        XCTAssertEqual(t.state.numTrainEpochs, 1)
        XCTAssertEqual(r.count(.stepEnd), 23)
        XCTAssertEqual(t.state.epoch, 23.0 / 45, accuracy: 1e-12)
        // 1.5 epochs: ceil(67.5) = 68 steps over two epochs
        t = try Self.trainer { $0.numTrainEpochs = 1.5; $0.loggingStrategy = .no }
        r = Recorder(t, [.init(.epochBegin), .init(.stepEnd)])
        try t.train()
        XCTAssertEqual(t.state.globalStep, 68)
        XCTAssertEqual(r.steps(of: .epochBegin), [0, 45])
    }

    func testGradientAccumulationCountsOptimizerStepsAndMicroSteps() throws {
        // 45 batches of 32 in windows of 4: 12 optimizer steps an epoch, the last of one batch
        let t = try Self.trainer { $0.numTrainEpochs = 1; $0.gradientAccumulationSteps = 4; $0.loggingSteps = 4 }
        let r = Recorder(t)
        var microAtStepEnd: [Int] = []
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in microAtStepEnd.append(state.microStep) }
        try t.train()
        XCTAssertEqual(t.state.maxSteps, 12)
        XCTAssertEqual(t.state.globalStep, 12)
        XCTAssertEqual(r.count(.stepEnd), 12)
        XCTAssertEqual(r.count(.beforeForward), 45)
        XCTAssertEqual(r.count(.substepEnd), 45 - 12)
        XCTAssertEqual(r.count(.optimizerStep), 12)
        XCTAssertEqual(microAtStepEnd, [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 45])
        XCTAssertEqual(t.state.microStep, 45)
        XCTAssertEqual(r.events.filter { $0.event == .stepEnd }.map(\.epoch), (1...12).map { Double($0) / 12 })
        XCTAssertEqual(r.stepLogs.map(\.step), [4, 8, 12])
        // FLOPs count every sample once, whatever the windows
        XCTAssertEqual(t.state.totalFlos, 6 * 4810 * 1438)
    }

    func testDropLastDropsTheShortBatchAndRefusesADatasetSmallerThanABatch() throws {
        var t = try Self.trainer { $0.numTrainEpochs = 1; $0.dataloaderDropLast = true }
        try t.train()
        XCTAssertEqual(t.state.globalStep, 44)  // 1438 = 44 x 32 + 30: the 30 are dropped
        XCTAssertEqual(t.state.totalFlos, 6 * 4810 * 44 * 32)
        t = try Self.trainer { $0.numTrainEpochs = 1 }
        try t.train()
        XCTAssertEqual(t.state.globalStep, 45)

        let (x, y) = try Digits.load("train")
        t = try Self.trainer { $0.numTrainEpochs = 1; $0.dataloaderDropLast = true }
        t.trainDataset = try Dataset(features: Array(x.prefix(20 * 64)), numFeatures: 64, labels: Array(y.prefix(20)))
        XCTAssertThrowsError(try t.train()) {
            XCTAssertEqual(($0 as? SwiftTrainError)?.code, .invalidArgument)
            XCTAssertTrue("\($0)".contains("fewer than one batch"), "\($0)")
        }
    }

    func testEvaluateAndPredictOutsideTrainingFireTheirEventsAndInitEndOnce() throws {
        let t = try Self.trainer { $0.maxSteps = 2; $0.perDeviceEvalBatchSize = 32 }
        let (x, y) = try Digits.load("test")
        let hundred = try Dataset(features: Array(x.prefix(100 * 64)), numFeatures: 64, labels: Array(y.prefix(100)))
        var seen: [TrainerEvent] = []
        var evalBatches: [Int] = []
        var predictMetrics: Metrics?
        t.addCallback { event, state, _, metrics in
            seen.append(event)
            if event == .predictionStep { evalBatches.append(state.evalBatches) }
            if event == .predict { predictMetrics = metrics }
        }
        let metrics = try t.evaluate(hundred)
        // 100 samples in evaluation batches of 32: 4 batches
        let evaluationBatch: [TrainerEvent] = [.evaluateBatchBegin, .evaluateBeforeForward, .evaluateAfterForward, .predictionStep]
        XCTAssertEqual(seen, [.initEnd, .evaluateStandaloneBegin, .evaluateBegin] + Array(Array(repeating: evaluationBatch, count: 4).joined())
                       + [.log, .evaluate, .evaluateStandaloneEnd])
        XCTAssertEqual(evalBatches, [4, 4, 4, 4])
        XCTAssertEqual(t.state.evalBatches, 0)
        // evaluate() records in the log history too, at the current step
        XCTAssertEqual(t.state.logHistory.count, 1)
        XCTAssertEqual(t.state.logHistory[0]["step"], 0)
        XCTAssertEqual(t.state.logHistory[0]["eval_loss"], metrics["eval_loss"])
        seen = []
        let (predictions, testMetrics) = try t.predict(hundred)
        let predictionBatch: [TrainerEvent] = [.predictBatchBegin, .predictBeforeForward, .predictAfterForward, .predictionStep]
        XCTAssertEqual(seen, [.predictBegin] + Array(Array(repeating: predictionBatch, count: 4).joined()) + [.predict])
        XCTAssertEqual(predictions.count, 100 * 10)
        XCTAssertEqual(predictMetrics, testMetrics)
        XCTAssertEqual(testMetrics?["test_loss"], metrics["eval_loss"])
        seen = []
        try t.train()
        XCTAssertEqual(seen.first, .trainBegin)  // INIT_END only once, before the first call
        XCTAssertFalse(seen.contains(.initEnd))
        // a train() starts a fresh log history
        XCTAssertNil(t.state.logHistory.first { $0["eval_loss"] != nil })
    }

    func testASecondTrainStartsAFreshRunFromTheCurrentWeights() throws {
        let t = try Self.trainer { $0.maxSteps = 5; $0.loggingSteps = 1 }
        var startWeights: [[Float]] = []
        var firstRates: [Double] = []
        t.addCallback(EventMask(.trainBegin)) { _, state, _, _ in
            startWeights.append(t.model.parameters.flatMap(\.values))
            XCTAssertEqual(state.globalStep, 0)
            XCTAssertTrue(state.logHistory.isEmpty)
        }
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in if state.globalStep == 1 { firstRates.append(state.learningRate) } }
        try t.train()
        let afterFirst = t.model.parameters.flatMap(\.values)
        try t.train()
        XCTAssertEqual(startWeights.count, 2)
        XCTAssertEqual(startWeights[1], afterFirst)  // the weights continue
        XCTAssertNotEqual(startWeights[1], startWeights[0])
        XCTAssertEqual(t.state.globalStep, 5)  // the state, the schedule and the log history start again
        XCTAssertEqual(firstRates.count, 2)
        XCTAssertEqual(firstRates[0], firstRates[1])
        XCTAssertEqual(t.state.logHistory.map { $0["step"]! }, [1, 2, 3, 4, 5, 5])
    }

    func testDataSeedDefaultsToSeedAndAloneDecidesTheOrder() throws {
        func losses(seed: Int, dataSeed: Int) throws -> [Double] {
            let t = try Self.trainer { $0.maxSteps = 8; $0.seed = seed; $0.dataSeed = dataSeed }
            var values: [Double] = []
            t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in values.append(state.loss) }
            try t.train()
            return values
        }
        // (the MLP has no dropout: the data order is the only thing the seeds change)
        let bySeed = try losses(seed: 7, dataSeed: -1)
        XCTAssertEqual(try losses(seed: 42, dataSeed: 7), bySeed)
        XCTAssertNotEqual(try losses(seed: 42, dataSeed: -1), bySeed)
    }
}
