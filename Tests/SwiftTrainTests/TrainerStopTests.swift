import Foundation
import XCTest
import SwiftTrain

/// A value handed to another thread in a test that synchronises the two itself.
private final class Shared<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// What callbacks may do to the flow (HF's TrainerControl: flags reset at each step, a veto
/// of the flow's decisions, an epoch stop, a sticky training stop from any event), and
/// Trainer.requestStop: from another thread or a callback, the step completes, TRAIN_END
/// runs, train() returns normally, a requested save resumes exactly, and a request nobody
/// acted on does not leak into the next train().
final class TrainerStopTests: XCTestCase {
    typealias Flow = TrainerFlowTests

    func testFlagsAreResetBeforeEachStepBeginAndHonouredWithinTheStep() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let t = try Flow.trainer { $0.maxSteps = 4; $0.outputDir = dir; $0.loggingStrategy = .no }
        t.evalDataset = try Digits.dataset("test")
        var atStepBegin: [TrainerControl] = []
        t.addCallback(EventMask(.epochBegin)) { _, _, control, _ in  // dropped: no step acts on them
            control.shouldLog = true
            control.shouldEvaluate = true
            control.shouldSave = true
        }
        t.addCallback(EventMask(.stepBegin)) { _, state, control, _ in
            atStepBegin.append(control)
            if state.globalStep == 1 { control.shouldSave = true }  // during step 2
        }
        var seen: [String] = []
        t.addCallback([.init(.log), .init(.evaluate), .init(.save)]) { event, state, _, _ in
            seen.append("\(event.hfName) \(state.globalStep)")
        }
        try t.train()
        XCTAssertEqual(atStepBegin, Array(repeating: TrainerControl(), count: 4))
        XCTAssertEqual(seen, ["on_save 2", "on_log 4"])  // the request of step 2, then the train summary
        XCTAssertEqual(try CheckpointDirectory.list(dir).map(\.step), [2])
    }

    func testACallbackCanVetoTheFlowsLogEvaluationAndSave() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let t = try Flow.trainer {
            $0.maxSteps = 40; $0.loggingSteps = 10; $0.evalStrategy = .steps; $0.saveStrategy = .steps; $0.saveSteps = 10
            $0.outputDir = dir
        }
        t.evalDataset = try Digits.dataset("test")
        var flowAt20: TrainerControl?
        t.addCallback(EventMask(.stepEnd)) { _, state, control, _ in
            if state.globalStep == 20 {
                flowAt20 = control  // the built-in flow decides before any callback runs
                control.shouldLog = false
                control.shouldEvaluate = false
            }
            if state.globalStep == 40 { control.shouldSave = false }  // the final save too
        }
        let r = Flow.Recorder(t, [.init(.log), .init(.evaluate)])
        try t.train()
        XCTAssertEqual(flowAt20?.shouldLog, true)
        XCTAssertEqual(flowAt20?.shouldEvaluate, true)
        XCTAssertEqual(flowAt20?.shouldSave, true)
        XCTAssertEqual(r.stepLogs.map(\.step), [10, 30, 40])
        XCTAssertEqual(r.evaluations.map(\.step), [10, 30, 40])
        XCTAssertEqual(try CheckpointDirectory.list(dir).map(\.step), [10, 20, 30])
    }

    func testAnEpochStopEndsOnlyTheEpoch() throws {
        let t = try Flow.trainer { $0.numTrainEpochs = 2; $0.loggingStrategy = .epoch; $0.loggingSteps = 1 }
        t.addCallback(EventMask(.stepEnd)) { _, state, control, _ in if state.globalStep == 3 { control.shouldEpochStop = true } }
        let r = Flow.Recorder(t, [.init(.epochBegin), .init(.epochEnd), .init(.log), .init(.trainEnd)])
        try t.train()
        XCTAssertEqual(r.steps(of: .epochBegin), [0, 3])
        XCTAssertEqual(r.steps(of: .epochEnd), [3, 48])
        XCTAssertEqual(r.stepLogs.map(\.step), [3, 48])  // the cut epoch still ends with its log
        XCTAssertEqual(t.state.globalStep, 48)
        XCTAssertEqual(t.state.epoch, 2, accuracy: 1e-12)
        XCTAssertEqual(r.count(.trainEnd), 1)
    }

    func testAStopFromAnEvaluationOrAnEpochEndEndsTrainingThere() throws {
        var t = try Flow.trainer { $0.maxSteps = 40; $0.evalStrategy = .steps; $0.evalSteps = 10 }
        t.evalDataset = try Digits.dataset("test")
        t.addCallback(EventMask(.evaluate)) { _, _, control, _ in control.shouldTrainingStop = true }
        var r = Flow.Recorder(t, [.init(.stepBegin), .init(.evaluate), .init(.trainEnd)])
        try t.train()
        XCTAssertEqual(t.state.globalStep, 10)
        XCTAssertEqual(r.steps(of: .evaluate), [10])
        XCTAssertEqual(r.count(.stepBegin), 10)
        XCTAssertEqual(r.steps(of: .trainEnd), [10])

        t = try Flow.trainer { $0.numTrainEpochs = 3 }
        t.addCallback(EventMask(.epochEnd)) { _, _, control, _ in control.shouldTrainingStop = true }
        r = Flow.Recorder(t, [.init(.epochBegin), .init(.trainEnd)])
        try t.train()
        XCTAssertEqual(t.state.globalStep, 45)
        XCTAssertEqual(r.steps(of: .epochBegin), [0])
        XCTAssertEqual(r.steps(of: .trainEnd), [45])
    }

    func testAReentrantEvaluateOrPredictIsMisuseAndTrainingGoesOn() throws {
        let t = try Flow.trainer { $0.maxSteps = 5 }
        let test = try Digits.dataset("test")
        var errors: [Error] = []
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
            guard state.globalStep == 2 else { return }
            do { _ = try t.evaluate(test) } catch { errors.append(error) }
            do { _ = try t.predict(test) } catch { errors.append(error) }
            do { try t.addEvalDataset(test, name: "late") } catch { errors.append(error) }
        }
        try t.train()
        XCTAssertEqual(errors.count, 3)
        for e in errors {
            XCTAssertEqual((e as? SwiftTrainError)?.code, .misuse)
            XCTAssertTrue("\(e)".contains("inside a callback"), "\(e)")
        }
        XCTAssertEqual(t.state.globalStep, 5)
        XCTAssertNotNil(try t.evaluate(test)["eval_loss"])  // usable again once train() returned
    }

    // MARK: - requestStop

    func testRequestStopFromAnotherThreadEndsTheStepItArrivesIn() throws {
        let t = try Flow.trainer { $0.maxSteps = 40 }
        let shared = Shared(t)
        let reached = DispatchSemaphore(value: 0), requested = DispatchSemaphore(value: 0)
        let other = Thread {
            reached.wait()
            shared.value.requestStop(save: false)
            requested.signal()
        }
        other.start()
        var pendingInCallback: Bool?
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
            if state.globalStep == 5 {  // training waits here until the other thread asked
                reached.signal()
                requested.wait()
                pendingInCallback = t.stopRequested
            }
        }
        let r = Flow.Recorder(t, [.init(.stepEnd), .init(.log), .init(.trainEnd), .init(.close)])
        let metrics = try t.train()
        XCTAssertEqual(pendingInCallback, true)
        XCTAssertEqual(t.state.globalStep, 5)
        XCTAssertEqual(r.events.map(\.event), Array(repeating: .stepEnd, count: 5) + [.log, .trainEnd, .close])
        XCTAssertNotNil(metrics["train_loss"])
        XCTAssertFalse(t.stopRequested)
    }

    func testRequestStopFromAnotherThreadAtAnyMoment() throws {
        manualSeed(0)
        var args = TrainingArguments.noSaving
        args.maxSteps = 1 << 30
        args.perDeviceTrainBatchSize = 4
        let t = try Trainer(model: try Linear(2, 1), loss: .mse, args: args)
        let x: [Float] = (0..<32).map { Float($0) / 32 }, y: [Float] = (0..<16).map { Float($0) / 16 }
        t.trainDataset = try x.withUnsafeBufferPointer { xs in
            try y.withUnsafeBufferPointer {
                try Dataset(copying: xs.baseAddress!, numSamples: 16, numFeatures: 2, targets: .values($0.baseAddress!, width: 1))
            }
        }
        let began = DispatchSemaphore(value: 0)
        let shared = Shared(t)
        let other = Thread {
            began.wait()
            usleep(20_000)
            shared.value.requestStop(save: false)
        }
        other.start()
        let start = Date()
        var timedOut = false
        t.addCallback(EventMask(.trainBegin)) { _, _, _, _ in began.signal() }
        t.addCallback(EventMask(.stepEnd)) { _, _, control, _ in  // a lost request must not hang the suite
            if Date().timeIntervalSince(start) > 20 { timedOut = true; control.shouldTrainingStop = true }
        }
        var tail: [TrainerEvent] = []
        t.addCallback([.init(.stepEnd), .init(.trainEnd), .init(.close)]) { event, _, _, _ in tail = Array((tail + [event]).suffix(3)) }
        try t.train()
        XCTAssertFalse(timedOut, "the request from the other thread never stopped training")
        XCTAssertGreaterThan(t.state.globalStep, 0)
        XCTAssertLessThan(t.state.globalStep, 1 << 30)
        XCTAssertEqual(tail, [.stepEnd, .trainEnd, .close])
        XCTAssertFalse(t.stopRequested)
    }

    func testRequestStopInACallbackStopsAtTheEndOfThatOptimizerStep() throws {
        // (event, global_step when it fires during optimizer step 4)
        let during: [(TrainerEvent, Int)] = [(.stepBegin, 3), (.afterBackward, 3), (.optimizerStep, 3), (.stepEnd, 4)]
        for (event, step) in during {
            let t = try Flow.trainer { $0.maxSteps = 40; $0.loggingSteps = 1 }
            var requestedAt: Int?
            t.addCallback(EventMask(event)) { _, state, _, _ in
                if state.globalStep == step && requestedAt == nil {
                    t.requestStop(save: false)
                    requestedAt = state.globalStep
                }
            }
            let r = Flow.Recorder(t, [.init(.stepEnd), .init(.log), .init(.trainEnd), .init(.close)])
            let metrics = try t.train()
            XCTAssertEqual(t.state.globalStep, 4, "requested at \(event.hfName)")
            XCTAssertEqual(r.steps(of: .stepEnd), [1, 2, 3, 4], "requested at \(event.hfName)")
            // the step is logged as usual (logging_steps 1), then the train summary
            XCTAssertEqual(r.logs.map(\.step), [1, 2, 3, 4, 4], "requested at \(event.hfName)")
            XCTAssertEqual(r.events.suffix(2).map(\.event), [.trainEnd, .close])
            XCTAssertEqual(metrics["train_loss"]!, r.stepLosses.reduce(0, +) / 4, accuracy: 1e-12)
            XCTAssertFalse(t.stopRequested)
        }
    }

    func testRequestStopWithSaveWritesACheckpointThatResumesExactly() throws {
        typealias T = CheckpointResumeTests
        // Every 4 steps a checkpoint; three epochs of 10 steps, evaluation every 5.
        let uninterrupted = try T.trainer(T.baseArgs(try T.temporaryDirectory()))
        try uninterrupted.train()
        XCTAssertEqual(uninterrupted.state.globalStep, 30)

        // mid-epoch; the last step of an epoch (before its end); a step that evaluates
        for (stopAt, checkpoints) in [(7, [4, 7]), (10, [4, 8, 10]), (15, [4, 8, 12, 15])] {
            let args = T.baseArgs(try T.temporaryDirectory())
            let stopped = try T.trainer(args)
            stopped.addCallback(EventMask(.stepEnd)) { _, state, _, _ in if state.globalStep == stopAt { stopped.requestStop() } }
            var trainEnd = false
            stopped.addCallback(EventMask(.trainEnd)) { _, _, _, _ in trainEnd = true }
            var saves: [Int] = []
            stopped.addCallback(EventMask(.save)) { _, state, _, _ in saves.append(state.globalStep) }
            try stopped.train()
            XCTAssertTrue(trainEnd)
            XCTAssertEqual(stopped.state.globalStep, stopAt)
            XCTAssertEqual(saves, checkpoints)
            XCTAssertEqual(try CheckpointDirectory.list(args.outputDir).map(\.step), checkpoints)

            manualSeed(999)
            let resumed = try T.trainer(args, seed: 1234)
            try resumed.train(resumeFrom: .latest)
            XCTAssertEqual(resumed.lastResumedFrom.map { URL(fileURLWithPath: $0).lastPathComponent }, "checkpoint-\(stopAt)")
            XCTAssertEqual(resumed.state.globalStep, 30)
            XCTAssertEqual(resumed.state.microStep, uninterrupted.state.microStep)
            T.assertSame(T.history(resumed), T.history(uninterrupted), "stopped at \(stopAt): log history entry", file: #filePath, line: #line)
            T.assertSame(T.weights(resumed), T.weights(uninterrupted), "stopped at \(stopAt): weight tensor", file: #filePath, line: #line)
        }
    }

    func testWhetherARequestedStopSaves() throws {
        typealias T = CheckpointResumeTests
        func checkpoints(_ configure: (inout TrainingArguments) -> Void, request: @escaping (Trainer) -> Void) throws -> [Int] {
            var args = T.baseArgs(try T.temporaryDirectory())
            args.saveSteps = 100
            args.evalStrategy = .no
            configure(&args)
            let t = try T.trainer(args)
            t.addCallback(EventMask(.stepBegin)) { _, state, _, _ in if state.globalStep == 2 { request(t) } }
            try t.train()
            XCTAssertEqual(t.state.globalStep, 3)
            return try CheckpointDirectory.list(args.outputDir).map(\.step)
        }
        XCTAssertEqual(try checkpoints({ _ in }, request: { $0.requestStop(save: true) }), [3])
        XCTAssertEqual(try checkpoints({ _ in }, request: { $0.requestStop(save: false) }), [])
        // a request to save is not weakened by a later one without
        XCTAssertEqual(try checkpoints({ _ in }, request: { $0.requestStop(); $0.requestStop(save: false) }), [3])
        XCTAssertEqual(try checkpoints({ $0.saveStrategy = .epoch }, request: { $0.requestStop() }), [3])
        XCTAssertEqual(try checkpoints({ $0.saveStrategy = .no }, request: { $0.requestStop() }), [])
    }

    func testARequestNobodyActedOnDoesNotLeakIntoTheNextTrain() throws {
        let t = try Flow.trainer { $0.maxSteps = 6 }
        var pendingAtTrainEnd: Bool?
        var once = true
        t.addCallback(EventMask(.trainEnd)) { _, _, _, _ in
            guard once else { return }
            once = false
            t.requestStop()  // after the last step: no step will act on it
            pendingAtTrainEnd = t.stopRequested
        }
        try t.train()
        XCTAssertEqual(pendingAtTrainEnd, true)
        XCTAssertFalse(t.stopRequested)
        try t.train()
        XCTAssertEqual(t.state.globalStep, 6)

        // A request made between two train() calls is for the next one (documented: "a running
        // (or the next) train()"): it stops after its first step.
        t.requestStop(save: false)
        XCTAssertTrue(t.stopRequested)
        _ = try t.evaluate(try Digits.dataset("test"))  // evaluation does not consume it
        XCTAssertTrue(t.stopRequested)
        try t.train()
        XCTAssertEqual(t.state.globalStep, 1)
        XCTAssertFalse(t.stopRequested)
    }
    /// A request made while the step is logged, evaluated or saved, or at an epoch's end,
    /// stops at that step (as should_training_stop set there does), not one step later;
    /// with save, the step is saved once.
    func testRequestStopDuringTheStepsLogEvaluationSaveOrEpochEndStopsAtThatStep() throws {
        let cases: [(TrainerEvent, Int)] = [(.log, 10), (.evaluate, 10), (.save, 10), (.epochEnd, 45)]
        for (event, expected) in cases {
            let dir = try CheckpointResumeTests.temporaryDirectory()
            let t = try Flow.trainer {
                $0.maxSteps = 100; $0.loggingSteps = 10; $0.evalStrategy = .steps; $0.evalSteps = 10
                $0.saveStrategy = .steps; $0.saveSteps = 10; $0.outputDir = dir
            }
            t.evalDataset = try Digits.dataset("test")
            var saves: [Int] = []
            t.addCallback(EventMask(.save)) { _, state, _, _ in saves.append(state.globalStep) }
            t.addCallback(EventMask(event)) { _, _, _, _ in t.requestStop(save: true) }
            try t.train()
            XCTAssertEqual(t.state.globalStep, expected, "\(event)")
            XCTAssertEqual(saves.last, expected, "\(event)")
            XCTAssertEqual(saves.filter { $0 == expected }.count, 1, "\(event): saved once")
        }
    }
}

/// Registering and unregistering callbacks (addCallback's CallbackID, removeCallback,
/// removeCallbacks(tagged:)) and eventSerial.
final class TrainerCallbackRegistryTests: XCTestCase {
    typealias Flow = TrainerFlowTests

    func testARemovedCallbackRunsNoMoreAndRemovingTwiceReturnsFalse() throws {
        let t = try Flow.trainer { $0.maxSteps = 3 }
        var counts = [0, 0]
        let first = t.addCallback(EventMask(.stepEnd)) { _, _, _, _ in counts[0] += 1 }
        let second = t.addCallback(EventMask(.stepEnd)) { _, _, _, _ in counts[1] += 1 }
        XCTAssertNotEqual(first, second)
        try t.train()
        XCTAssertEqual(counts, [3, 3])
        XCTAssertTrue(t.removeCallback(first))
        XCTAssertFalse(t.removeCallback(first))
        try t.train()
        XCTAssertEqual(counts, [3, 6])
        XCTAssertTrue(t.removeCallback(second))
        XCTAssertFalse(t.removeCallback(second))
        try t.train()
        XCTAssertEqual(counts, [3, 6])
        // ids are not reused: a new registration is not removed by an old id
        let third = t.addCallback(EventMask(.stepEnd)) { _, _, _, _ in counts[0] += 1 }
        XCTAssertFalse(t.removeCallback(first))
        XCTAssertNotEqual(third, first)
        XCTAssertNotEqual(third, second)
        try t.train()
        XCTAssertEqual(counts, [6, 6])
    }

    func testACallbackRemovedDuringAnEventStillSeesThatEventAndNoneAfter() throws {
        let t = try Flow.trainer { $0.maxSteps = 5 }
        var earlier: [Int] = [], later: [Int] = [], itself: [Int] = []
        var results: [Bool] = []
        let earlierID = t.addCallback(EventMask(.stepEnd), priority: -1) { _, state, _, _ in earlier.append(state.globalStep) }
        var laterID: CallbackID?, selfID: CallbackID?
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
            if state.globalStep == 2 {
                results.append(t.removeCallback(earlierID))  // already ran for this event
                results.append(t.removeCallback(laterID!))  // has not run yet for this event
            }
        }
        laterID = t.addCallback(EventMask(.stepEnd), priority: 1) { _, state, _, _ in later.append(state.globalStep) }
        selfID = t.addCallback(EventMask(.stepEnd), priority: 2) { _, state, _, _ in
            itself.append(state.globalStep)
            if state.globalStep == 3 { results.append(t.removeCallback(selfID!)) }
        }
        try t.train()
        XCTAssertEqual(results, [true, true, true])
        XCTAssertEqual(earlier, [1, 2])
        XCTAssertEqual(later, [1, 2])
        XCTAssertEqual(itself, [1, 2, 3])
        XCTAssertFalse(t.removeCallback(laterID!))
        XCTAssertFalse(t.removeCallback(selfID!))
    }

    func testRemoveCallbacksTaggedRemovesEveryOneWithThatTagAndKeepsTheOrder() throws {
        let t = try Flow.trainer { $0.maxSteps = 1 }
        var order: [String] = []
        t.addCallback(EventMask(.trainBegin), priority: 5, tag: "a") { _, _, _, _ in order.append("a5") }
        t.addCallback(EventMask(.trainBegin), priority: 1, tag: "b") { _, _, _, _ in order.append("b1") }
        t.addCallback(EventMask(.trainBegin), priority: -3, tag: "a") { _, _, _, _ in order.append("a-3") }
        t.addCallback(EventMask(.trainBegin), priority: 1) { _, _, _, _ in order.append("untagged1") }
        t.addCallback(EventMask(.trainBegin), priority: 9, tag: 7) { _, _, _, _ in order.append("int9") }
        try t.train()
        XCTAssertEqual(order, ["a-3", "b1", "untagged1", "a5", "int9"])
        XCTAssertEqual(t.removeCallbacks(tagged: "a"), 2)
        XCTAssertEqual(t.removeCallbacks(tagged: "a"), 0)
        XCTAssertEqual(t.removeCallbacks(tagged: "7"), 0)  // a tag is the value, not its spelling
        order = []
        try t.train()
        XCTAssertEqual(order, ["b1", "untagged1", "int9"])
        XCTAssertEqual(t.removeCallbacks(tagged: 7), 1)
        t.addCallback(EventMask(.trainBegin), priority: 0, tag: "b") { _, _, _, _ in order.append("b0") }
        order = []
        try t.train()
        XCTAssertEqual(order, ["b0", "b1", "untagged1"])
        XCTAssertEqual(t.removeCallbacks(tagged: "b"), 2)
    }

    func testEveryCallbackOfAnEventSeesTheSameEventSerialAndConsecutiveEventsDiffer() throws {
        let t = try Flow.trainer { $0.maxSteps = 3; $0.loggingSteps = 1 }
        var first: [(TrainerEvent, UInt64)] = [], second: [(TrainerEvent, UInt64)] = []
        var logsOnly: [UInt64] = []
        t.addCallback(priority: -1) { event, _, _, _ in first.append((event, t.eventSerial)) }
        t.addCallback(priority: 1) { event, _, _, _ in second.append((event, t.eventSerial)) }
        t.addCallback(EventMask(.log)) { _, _, _, _ in logsOnly.append(t.eventSerial) }
        try t.train()
        XCTAssertEqual(first.map(\.0), second.map(\.0))
        XCTAssertEqual(first.map(\.1), second.map(\.1))
        XCTAssertEqual(first.first?.0, .initEnd)
        XCTAssertEqual(first.first?.1, 1)  // numbered from 1
        // every event is dispatched (someone listens to all): the numbers go up one at a time
        XCTAssertEqual(first.map(\.1), (0..<UInt64(first.count)).map { $0 + 1 })
        XCTAssertEqual(logsOnly, first.filter { $0.0 == .log }.map(\.1))
        let afterFirstRun = t.eventSerial
        XCTAssertEqual(afterFirstRun, first.last?.1)
        // and go on across calls
        first = []
        _ = try t.evaluate(try Digits.dataset("test"))
        XCTAssertEqual(first.first?.1, afterFirstRun + 1)
        XCTAssertEqual(first.map(\.1), (0..<UInt64(first.count)).map { afterFirstRun + 1 + $0 })
    }
}
