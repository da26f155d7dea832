import XCTest
@testable import SwiftTrain

/// Callbacks that see and change the run through `EventData` (issue 12): the batch, the
/// outputs, the loss, the optimizer; logging their own metrics; teardown that reaches every
/// callback.
final class EventDataTests: XCTestCase {
    private typealias Flow = TrainerFlowTests

    private func weights(_ t: Trainer) -> [[Float]] {
        t.model.parameters.map { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) }
    }

    private func sgd(_ lr: Double) -> (inout TrainingArguments) -> Void {
        { $0.maxSteps = 12; $0.optim = .sgd; $0.learningRate = lr; $0.maxGradNorm = 0; $0.lrSchedulerType = .constant }
    }

    /// Composer's loss-scaling algorithm: doubling the loss at AFTER_LOSS is, under plain
    /// SGD, the same as doubling the learning rate.
    func testReplacingTheLossWithTwiceItEqualsTwiceTheLearningRateUnderSGD() throws {
        let scaled = try Flow.trainer(sgd(0.05))
        var seenLoss = false
        scaled.addCallback(EventMask(.afterLoss)) { data, _, _ in
            let loss = try XCTUnwrap(data.loss)
            seenLoss = true
            data.loss = try loss * 2
        }
        try scaled.train()
        let doubled = try Flow.trainer(sgd(0.1))
        try doubled.train()
        XCTAssertTrue(seenLoss)
        for (a, b) in zip(weights(scaled), weights(doubled)) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
    }

    /// A label-smoothing callback that recomputes the loss from the outputs and the batch
    /// equals the trainer's label_smoothing_factor.
    func testALabelSmoothingCallbackEqualsLabelSmoothingFactor() throws {
        let byCallback = try Flow.trainer { $0.maxSteps = 10 }
        byCallback.addCallback(EventMask(.afterLoss)) { data, _, _ in
            let logits = try XCTUnwrap(data.outputs?.logits), labels = try XCTUnwrap(data.batch?.labels)
            data.loss = try crossEntropy(logits, target: labels, labelSmoothing: 0.1)
        }
        try byCallback.train()
        let byArgument = try Flow.trainer { $0.maxSteps = 10; $0.labelSmoothingFactor = 0.1 }
        try byArgument.train()
        XCTAssertEqual(byCallback.state.loss, byArgument.state.loss, accuracy: 1e-6)
        for (a, b) in zip(weights(byCallback), weights(byArgument)) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
    }

    /// The batch can be replaced after the dataloader: zero inputs give the same outputs for
    /// every sample, and the model then learns only the label frequencies.
    func testTheBatchCanBeReplacedAfterTheDataloaderAndBeforeForward() throws {
        let t = try Flow.trainer { $0.maxSteps = 3 }
        var forwarded: [Float] = []
        t.addCallback(EventMask(.afterDataloader)) { data, _, _ in
            var batch = Batch()
            let x = try XCTUnwrap(data.batch?["input"])
            try batch.add("input", Tensor.zeros(x.shape))
            try batch.add("labels", try XCTUnwrap(data.batch?.labels))
            data.batch = batch
        }
        t.addCallback(EventMask(.afterForward)) { data, _, _ in
            let logits = try XCTUnwrap(data.outputs?.logits)
            forwarded.append(contentsOf: UnsafeBufferPointer(start: logits.data, count: 10))
            forwarded.append(contentsOf: UnsafeBufferPointer(start: logits.data + 10, count: 10))
        }
        try t.train()
        XCTAssertEqual(forwarded.count, 60)
        for step in 0..<3 {  // two samples of one step: the same outputs
            XCTAssertEqual(Array(forwarded[(20 * step)..<(20 * step + 10)]), Array(forwarded[(20 * step + 10)..<(20 * step + 20)]))
        }
    }

    func testTheOptimizerAndScheduleAreThereDuringTrainingOnly() throws {
        let t = try Flow.trainer { $0.maxSteps = 2 }
        var seen: [(TrainerEvent, Bool)] = []
        t.addCallback([EventMask(.trainBegin), EventMask(.optimizerStep), EventMask(.evaluate)]) { data, _, _ in
            seen.append((data.event, data.optimizer != nil && data.lrSchedule != nil))
        }
        try t.train()
        _ = try t.evaluate(try Digits.dataset("test"))
        XCTAssertEqual(seen.map(\.0), [.trainBegin, .optimizerStep, .optimizerStep, .evaluate])
        XCTAssertEqual(seen.map(\.1), [true, true, true, false])
        XCTAssertNil(t.eventData.optimizer)
        XCTAssertNil(t.eventData.batch)
    }

    /// HF's Trainer.log: values a callback logs reach the log history (with the step) and
    /// every LOG callback, after the event they were logged in.
    func testMetricsACallbackLogsAppearInTheLogHistoryAndOnLog() throws {
        let t = try Flow.trainer { $0.maxSteps = 4; $0.loggingSteps = 2 }
        var order: [String] = []
        t.addCallback(EventMask(.stepEnd)) { data, state, _ in
            order.append("step_end \(state.globalStep)")
            var m = Metrics()
            m["grad_norm_seen"] = Double(state.globalStep)
            try t.log(m)
            order.append("logged")
        }
        t.addCallback(EventMask(.log)) { data, state, _ in
            if let v = data.metrics?["grad_norm_seen"] { order.append("on_log \(Int(v))") }
        }
        try t.train()
        let custom = t.state.logHistory.filter { $0["grad_norm_seen"] != nil }
        XCTAssertEqual(custom.map { $0["step"] }, [1, 2, 3, 4])
        XCTAssertEqual(custom.map { $0["grad_norm_seen"] }, [1, 2, 3, 4])
        XCTAssertEqual(Array(order.prefix(3)), ["step_end 1", "logged", "on_log 1"])
    }

    /// Teardown reaches every callback: one that throws at EXCEPTION does not keep the
    /// others from EXCEPTION or CLOSE; they see the error; the original error comes out.
    func testEveryCallbackGetsExceptionWithTheErrorAndCloseWhenOneThrows() throws {
        struct Boom: Error {}
        struct Late: Error {}
        let t = try Flow.trainer { $0.maxSteps = 5 }
        var seen: [String] = []
        t.addCallback(EventMask(.stepEnd)) { _, state, _ in if state.globalStep == 2 { throw Boom() } }
        t.addCallback([EventMask(.exception), EventMask(.close)]) { data, _, _ in
            seen.append("first \(data.event.hfName) \(data.error is Boom)")
            if data.event == .exception { throw Late() }
        }
        t.addCallback([EventMask(.exception), EventMask(.close)]) { data, _, _ in
            seen.append("second \(data.event.hfName) \(data.error is Boom)")
        }
        XCTAssertThrowsError(try t.train()) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(seen, ["first on_exception true", "second on_exception true",
                              "first on_close true", "second on_close true"])
        XCTAssertNil(t.eventData.error)
    }

    func testAReplacedLossMustBeAFloatScalar() throws {
        let t = try Flow.trainer { $0.maxSteps = 2 }
        t.addCallback(EventMask(.afterLoss)) { data, _, _ in data.loss = Tensor.zeros([2]) }
        XCTAssertThrowsError(try t.train()) {
            XCTAssertTrue("\($0)".contains("float32 scalar"), "\($0)")
        }
    }

    func testInitEndFiresOnceWhereTheHostAsksOrBeforeTheFirstRun() throws {
        let asked = try Flow.trainer { $0.maxSteps = 1 }
        var fired = 0
        asked.addCallback(EventMask(.initEnd)) { _, _, _ in fired += 1 }
        try asked.initEnd()
        XCTAssertEqual(fired, 1)
        try asked.initEnd()
        try asked.train()
        XCTAssertEqual(fired, 1)

        let lazy = try Flow.trainer { $0.maxSteps = 1 }
        var lazyFired = 0
        lazy.addCallback(EventMask(.initEnd)) { _, _, _ in lazyFired += 1 }
        try lazy.train()
        try lazy.train()
        XCTAssertEqual(lazyFired, 1)
    }

    func testACloseThatThrowsOnASuccessfulRunFiresOnceAndLogFromLogIsRefused() throws {
        struct Late: Error {}
        let t = try Flow.trainer { $0.maxSteps = 2 }
        var closes = 0, exceptions = 0
        t.addCallback([EventMask(.close), EventMask(.exception)]) { data, _, _ in
            if data.event == .close { closes += 1; throw Late() } else { exceptions += 1 }
        }
        XCTAssertThrowsError(try t.train()) { XCTAssertTrue($0 is Late) }
        XCTAssertEqual(closes, 1)
        XCTAssertEqual(exceptions, 0)

        let u = try Flow.trainer { $0.maxSteps = 2; $0.loggingSteps = 1 }
        u.addCallback(EventMask(.log)) { _, _, _ in try u.log(Metrics([("again", 1)])) }
        XCTAssertThrowsError(try u.train()) { XCTAssertTrue("\($0)".contains("LOG callback"), "\($0)") }
    }

    func testValuesLoggedInAFailedEventDoNotLeakIntoTheNextRun() throws {
        struct Boom: Error {}
        let t = try Flow.trainer { $0.maxSteps = 3 }
        var fail = true
        t.addCallback(EventMask(.stepEnd)) { _, state, _ in if state.globalStep == 2 && fail { try t.log(Metrics([("stale", 1)])) } }
        t.addCallback(EventMask(.stepEnd)) { _, state, _ in if state.globalStep == 2 && fail { throw Boom() } }
        XCTAssertThrowsError(try t.train())
        fail = false
        try t.train()
        XCTAssertTrue(t.state.logHistory.allSatisfy { $0["stale"] == nil })
    }
}
