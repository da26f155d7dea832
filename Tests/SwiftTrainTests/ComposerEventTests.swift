import XCTest
@testable import SwiftTrain

/// Composer's events beyond HF's (issue 12): where they fire, what they carry, and the
/// values a callback may replace in evaluation and prediction.
final class ComposerEventTests: XCTestCase {
    private typealias Flow = TrainerFlowTests

    private func names(_ t: Trainer, _ mask: EventMask) -> () -> [String] {
        var seen: [String] = []
        t.addCallback(mask) { data, _, _ in seen.append(data.event.hfName) }
        return { seen }
    }

    /// EPOCH_CHECKPOINT closes each epoch after its evaluation and save, carrying that
    /// evaluation's metrics (AllenNLP's and PyMarlin's epoch callbacks); STEP_CHECKPOINT
    /// closes each step after its own.
    func testCheckpointEventsCloseStepsAndEpochsAfterTheirEvaluation() throws {
        let t = try Flow.trainer { $0.numTrainEpochs = 2; $0.evalStrategy = .epoch }
        t.evalDataset = try Digits.dataset("test")
        var epochMetrics: [Metrics?] = [], order: [String] = []
        t.addCallback([EventMask(.evaluate), EventMask(.epochEnd), EventMask(.epochCheckpoint), EventMask(.stepCheckpoint)]) {
            data, state, _ in
            if data.event != .stepCheckpoint || state.globalStep % 45 == 0 { order.append(data.event.hfName) }
            if data.event == .epochCheckpoint { epochMetrics.append(data.metrics) }
        }
        try t.train()
        XCTAssertEqual(order, ["on_step_checkpoint", "on_epoch_end", "on_evaluate", "on_epoch_checkpoint",
                               "on_step_checkpoint", "on_epoch_end", "on_evaluate", "on_epoch_checkpoint"])
        XCTAssertEqual(epochMetrics.count, 2)
        XCTAssertEqual(epochMetrics.map { $0?["eval_loss"] }, t.state.logHistory.compactMap { $0["eval_loss"] })
    }

    /// Outputs replaced at EVALUATE_AFTER_FORWARD are what the metrics are computed from;
    /// a batch replaced at PREDICT_BEFORE_FORWARD is what is predicted.
    func testEvaluationOutputsAndPredictionBatchesCanBeReplaced() throws {
        let t = try Flow.trainer { $0.maxSteps = 20 }
        let test = try Digits.dataset("test")
        try t.train()
        let honest = try t.evaluate(test)
        let id = t.addCallback(EventMask(.evaluateAfterForward)) { data, _, _ in
            let logits = try XCTUnwrap(data.outputs?.logits)
            data.outputs = ModelOutput(try logits * -1)  // the worst class first
        }
        let inverted = try t.evaluate(test)
        XCTAssertGreaterThan(honest["eval_accuracy"]!, 0.5)
        XCTAssertLessThan(inverted["eval_accuracy"]!, 0.1)
        XCTAssertTrue(t.removeCallback(id))
        t.addCallback(EventMask(.predictBeforeForward)) { data, _, _ in
            let batch = try XCTUnwrap(data.batch)
            var zeros = Batch()
            zeros.append("input", try Tensor.zeros(batch["input"]!.shape))
            data.batch = zeros
        }
        let (predictions, _) = try t.predict(test)
        let first = Array(predictions.prefix(10))
        for row in 1..<test.count! {  // (equal up to the rounding of the row's place in the GEMM)
            for (a, b) in zip(predictions[(row * 10)..<(row * 10 + 10)], first) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
    }

    /// evaluate() outside training is wrapped in the standalone events; BEFORE_ALL and
    /// AFTER_ALL wrap an evaluation of the trainer's datasets, AFTER_ALL and STANDALONE_END
    /// carrying the metrics evaluate() returns.
    func testStandaloneEvaluationEvents() throws {
        let t = try Flow.trainer { $0.maxSteps = 1 }
        t.evalDataset = try Digits.dataset("test")
        var carried: [String: Double?] = [:]
        let seen = names(t, [EventMask(.evaluateStandaloneBegin), EventMask(.evaluateBeforeAll), EventMask(.evaluateBegin),
                             EventMask(.evaluate), EventMask(.evaluateAfterAll), EventMask(.evaluateStandaloneEnd)])
        t.addCallback([EventMask(.evaluateAfterAll), EventMask(.evaluateStandaloneEnd)]) { data, _, _ in
            carried[data.event.hfName] = data.metrics?["eval_loss"]
        }
        let metrics = try t.evaluate()
        XCTAssertEqual(seen(), ["on_evaluate_standalone_begin", "on_evaluate_before_all", "on_evaluate_begin", "on_evaluate",
                                "on_evaluate_after_all", "on_evaluate_standalone_end"])
        XCTAssertEqual(carried["on_evaluate_after_all"], metrics["eval_loss"])
        XCTAssertEqual(carried["on_evaluate_standalone_end"], metrics["eval_loss"])
    }

    /// BEFORE_LOAD and AFTER_LOAD fire around a resume's restore, before TRAIN_BEGIN, and
    /// not in a fresh run; POST_CLOSE is the last event, after a failure too.
    func testLoadEventsOnResumeAndPostCloseLast() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let configure: (inout TrainingArguments) -> Void = { $0.maxSteps = 4; $0.outputDir = dir; $0.saveStrategy = .steps; $0.saveSteps = 2 }
        let fresh = try Flow.trainer(configure)
        let mask: EventMask = [EventMask(.beforeLoad), EventMask(.afterLoad), EventMask(.trainBegin), EventMask(.close),
                               EventMask(.postClose), EventMask(.exception)]
        let freshSeen = names(fresh, mask)
        try fresh.train()
        XCTAssertEqual(freshSeen(), ["on_train_begin", "on_close", "on_post_close"])
        let resumed = try Flow.trainer(configure)
        var stepAtLoad = -1
        resumed.addCallback(EventMask(.afterLoad)) { _, state, _ in stepAtLoad = state.globalStep }
        let resumedSeen = names(resumed, mask)
        try resumed.train(resumeFrom: .latest)
        XCTAssertEqual(resumedSeen(), ["on_before_load", "on_after_load", "on_train_begin", "on_close", "on_post_close"])
        XCTAssertEqual(stepAtLoad, 4)
        struct Boom: Error {}
        let failing = try Flow.trainer { $0.maxSteps = 3 }
        failing.addCallback(EventMask(.stepEnd)) { _, _, _ in throw Boom() }
        var postCloseError = false
        failing.addCallback(EventMask(.postClose)) { data, _, _ in postCloseError = data.error is Boom }
        let failingSeen = names(failing, mask)
        XCTAssertThrowsError(try failing.train()) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(failingSeen(), ["on_train_begin", "on_exception", "on_close", "on_post_close"])
        XCTAssertTrue(postCloseError)
    }

    /// A batch replaced in prediction must keep its number of samples (the predictions go
    /// into a buffer sized for the dataset); after a failed evaluation no batch, outputs or
    /// loss stay in the event data, and a training step's are back after its evaluation.
    func testReplacedEvaluationBatchesKeepTheirSizeAndNothingStaysAfterwards() throws {
        let t = try Flow.trainer { $0.maxSteps = 2; $0.evalStrategy = .steps; $0.evalSteps = 2 }
        t.evalDataset = try Digits.dataset("test")
        var stepBatchAfterEvaluation = false, evaluationSawTheStepsLoss = false
        t.addCallback([EventMask(.evaluateBatchBegin), EventMask(.stepCheckpoint)]) { data, state, _ in
            if data.event == .evaluateBatchBegin { evaluationSawTheStepsLoss = evaluationSawTheStepsLoss || data.loss != nil }
            if data.event == .stepCheckpoint && state.globalStep == 2 { stepBatchAfterEvaluation = data.batch != nil }
        }
        try t.train()
        XCTAssertFalse(evaluationSawTheStepsLoss)
        XCTAssertTrue(stepBatchAfterEvaluation)
        let id = t.addCallback(EventMask(.predictBeforeForward)) { data, _, _ in
            let batch = try XCTUnwrap(data.batch)
            var doubled = Batch()
            doubled.append("input", try cat([batch["input"]!, batch["input"]!], dim: 0))
            data.batch = doubled
        }
        XCTAssertThrowsError(try t.predict(try Digits.dataset("test"))) {
            XCTAssertTrue("\($0)".contains("keep its number of samples"), "\($0)")
        }
        XCTAssertNil(t.eventData.batch)
        XCTAssertNil(t.eventData.outputs)
        XCTAssertTrue(t.removeCallback(id))
    }
}
