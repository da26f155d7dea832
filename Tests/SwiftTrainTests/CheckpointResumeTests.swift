import Foundation
import XCTest
@testable import SwiftTrain
import PlatformShims

/// Checkpoints and exact resume: a run interrupted anywhere and resumed from its newest
/// checkpoint produces bit for bit the losses, learning rates and weights of the run that
/// was never interrupted.
final class CheckpointResumeTests: XCTestCase {
    struct Interrupted: Error {}

    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swifttrain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// 300 digits in batches of 16: 19 batches, 10 updates per epoch with accumulation 2 (the
    /// last window has one batch).
    static func smallDigits(_ split: String, _ count: Int) throws -> Dataset {
        let (x, y) = try Digits.load(split)
        return try Dataset(features: Array(x.prefix(count * 64)), numFeatures: 64, labels: Array(y.prefix(count)))
    }

    static func baseArgs(_ dir: String) -> TrainingArguments {
        var args = TrainingArguments()
        args.outputDir = dir
        args.numTrainEpochs = 3
        args.perDeviceTrainBatchSize = 16
        args.gradientAccumulationSteps = 2
        args.learningRate = 3e-3
        args.loggingSteps = 1
        args.saveSteps = 4
        args.evalStrategy = .steps
        args.evalSteps = 5
        return args
    }

    /// A model with dropout, so the random generator's state matters too.
    static func model(seed: UInt64) throws -> Module {
        manualSeed(seed)
        return try Sequential(Linear(64, 32), ReLU(), Dropout(p: 0.2), Linear(32, 10))
    }

    static func trainer(_ args: TrainingArguments, seed: UInt64 = 7) throws -> Trainer {
        let trainer = try Trainer(model: try model(seed: seed), loss: .crossEntropy, args: args)
        trainer.trainDataset = try smallDigits("train", 300)
        trainer.evalDataset = try smallDigits("test", 100)
        return trainer
    }

    /// The log history without wall-clock values, as bit patterns.
    static func history(_ t: Trainer) -> [[String: UInt64]] {
        t.state.logHistory.map { entry in
            Dictionary(uniqueKeysWithValues: entry.filter { !$0.name.contains("runtime") && !$0.name.hasSuffix("per_second") }
                .map { ($0.name, $0.value.bitPattern) })
        }
    }

    /// Fails naming the first index where the lists differ (the lists themselves are long).
    static func assertSame<T: Equatable>(_ a: [T], _ b: [T], _ what: String, file: StaticString, line: UInt) {
        guard a != b else { return }
        let i = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        XCTFail("\(what) \(i) of \(a.count) differs from the uninterrupted run's (\(b.count))", file: file, line: line)
    }

    static func weights(_ t: Trainer) -> [[UInt32]] { t.model.stateDict().map { $0.tensor.values.map(\.bitPattern) } }

    /// Trains uninterrupted, then again interrupted at (`event`, `step`) and resumed from
    /// the newest checkpoint in a new trainer with differently initialised weights; asserts
    /// the two runs agree bit for bit.
    func assertExactResume(interruptAt event: TrainerEvent, step: Int, _ configure: (inout TrainingArguments) -> Void = { _ in },
                           file: StaticString = #filePath, line: UInt = #line) throws {
        var reference = Self.baseArgs(try Self.temporaryDirectory())
        configure(&reference)
        let uninterrupted = try Self.trainer(reference)
        try uninterrupted.train()

        var args = Self.baseArgs(try Self.temporaryDirectory())
        configure(&args)
        let first = try Self.trainer(args)
        first.addCallback(EventMask(event)) { e, state, _, _ in
            if state.globalStep == step { throw Interrupted() }
        }
        XCTAssertThrowsError(try first.train(), file: file, line: line) { XCTAssertTrue($0 is Interrupted, file: file, line: line) }
        manualSeed(999)  // the resumed process starts with another generator state
        let resumed = try Self.trainer(args, seed: 1234)
        try resumed.train(resumeFrom: .latest)
        XCTAssertNotNil(resumed.lastResumedFrom, file: file, line: line)
        XCTAssertEqual(resumed.state.globalStep, uninterrupted.state.globalStep, file: file, line: line)
        XCTAssertEqual(resumed.state.microStep, uninterrupted.state.microStep, file: file, line: line)
        Self.assertSame(Self.history(resumed), Self.history(uninterrupted), "log history entry", file: file, line: line)
        Self.assertSame(Self.weights(resumed), Self.weights(uninterrupted), "weight tensor", file: file, line: line)
        XCTAssertEqual(resumed.state.bestMetric?.bitPattern, uninterrupted.state.bestMetric?.bitPattern, file: file, line: line)
    }

    func testResumeMidEpochIsExact() throws {
        try assertExactResume(interruptAt: .stepBegin, step: 14)  // saved at 12, mid-epoch 2
    }

    func testResumeAtAnEpochBoundaryIsExact() throws {
        // Saved at step 20, the last update of epoch 2, before its epoch end.
        try assertExactResume(interruptAt: .epochEnd, step: 20)
    }

    func testResumeFromEpochSavesIsExact() throws {
        try assertExactResume(interruptAt: .stepBegin, step: 15) { $0.saveStrategy = .epoch }
    }

    func testResumeInsideAnAccumulationWindowIsExact() throws {
        try assertExactResume(interruptAt: .substepEnd, step: 9) { $0.gradientAccumulationSteps = 3 }
    }

    func testResumeWithMovingAverageAndPlateauIsExact() throws {
        try assertExactResume(interruptAt: .stepBegin, step: 17) {
            $0.emaDecay = 0.9
            $0.lrSchedulerType = .reduceLROnPlateau
            $0.lrSchedulerKwargs = "patience=0,factor=0.5"
            $0.evalSteps = 2
        }
    }

    func testResumeWithBestModelAndEarlyStoppingIsExact() throws {
        try assertExactResume(interruptAt: .stepBegin, step: 13) {
            $0.loadBestModelAtEnd = true
            $0.earlyStoppingPatience = 3
            $0.earlyStoppingThreshold = 0.02
            $0.numTrainEpochs = 6
            $0.warmupSteps = 5
            $0.lrSchedulerType = .cosine
        }
    }

    func testCheckpointLayout() throws {
        let dir = try Self.temporaryDirectory()
        var args = Self.baseArgs(dir)
        args.emaDecay = 0.9
        args.loadBestModelAtEnd = true
        for (name, value) in [("run_name", "baseline"), ("do_train", "true"), ("dataloader_num_workers", "4"),
                              ("optim", "adam"), ("train_sampling_strategy", "sequential")] {
            try args.set(name, value)  // kept, and values HF has no name for, round-trip too
        }
        let trainer = try Self.trainer(args)
        var count = 0
        try trainer.addCallbackState(CallbackState(name: "Counter", save: { Array("{\"count\": \(count)}".utf8) }, load: { _ in }))
        trainer.addCallback(EventMask(.stepEnd)) { _, _, _, _ in count += 1 }
        var saves: [Int] = []
        trainer.addCallback(EventMask(.save)) { _, state, _, _ in saves.append(state.globalStep) }
        try trainer.train()
        XCTAssertEqual(saves, [4, 8, 12, 16, 20, 24, 28, 30])  // every 4 steps, and at the end (HF)
        let checkpoints = try CheckpointDirectory.list(dir)
        XCTAssertEqual(checkpoints.map(\.step), saves)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: checkpoints[2].path))
        XCTAssertEqual(names, ["model.safetensors", "optimizer.safetensors", "optimizer.json", "scheduler.json", "ema.safetensors",
                               "best_model.safetensors", "rng_state.json", "progress.json", "callback_states.safetensors",
                               "trainer_state.json", "training_args.json", "swifttrain_args.json", "manifest.json"])
        let contents = try CheckpointDirectory.open(checkpoints[2].path)
        XCTAssertEqual(try contents.safetensors("model.safetensors").entries.map(\.name).sorted(),
                       trainer.model.stateDict().map(\.name).sorted())
        XCTAssertEqual(try contents.json("trainer_state.json")["global_step"]?.intValue, 12)
        XCTAssertEqual(try contents.json("progress.json")["update_in_epoch"]?.intValue, 2)
        let blob = try contents.safetensors("callback_states.safetensors")
        XCTAssertEqual(String(decoding: blob.bytes[blob.entry("Counter")!.offset...].prefix(blob.entry("Counter")!.byteCount), as: UTF8.self),
                       "{\"count\": 12}")
        // training_args.json (HF's fields) and swifttrain_args.json read back into the same arguments.
        var read = TrainingArguments()
        for file in ["training_args.json", "swifttrain_args.json"] {
            for (name, value) in try contents.json(file).objectValue! { try read.set(name, json: value) }
        }
        XCTAssertEqual(read, args)
    }

    func testCallbackStateIsRestoredBeforeTrainBegin() throws {
        let dir = try Self.temporaryDirectory()
        let args = Self.baseArgs(dir)
        let first = try Self.trainer(args)
        var seen = 0
        try first.addCallbackState(CallbackState(name: "Seen", save: { [UInt8](String(seen).utf8) }, load: { _ in }))
        first.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
            seen += 1
            if state.globalStep == 10 { throw Interrupted() }
        }
        XCTAssertThrowsError(try first.train())
        let second = try Self.trainer(args)
        var restored: String?
        var atTrainBegin: String?
        try second.addCallbackState(CallbackState(name: "Seen", save: { [] }, load: { restored = String(decoding: $0, as: UTF8.self) }))
        second.addCallback(EventMask(.trainBegin)) { _, _, _, _ in atTrainBegin = restored }
        try second.train(resumeFrom: .latest)
        XCTAssertEqual(atTrainBegin, "8")  // the checkpoint at step 8 saw 8 step ends
        XCTAssertThrowsError(try second.addCallbackState(CallbackState(name: "Seen", save: { [] }, load: { _ in }))) {
            XCTAssertTrue(($0 as? SwiftTrainError)?.message.contains("already used") ?? false)
        }
    }

    func testRotationKeepsTheBestCheckpoint() throws {
        let dir = try Self.temporaryDirectory()
        var args = Self.baseArgs(dir)
        args.saveTotalLimit = 2
        args.saveSteps = 5
        args.metricForBestModel = "accuracy"
        args.numTrainEpochs = 4
        let trainer = try Self.trainer(args)
        var bestAtSaves: [String?] = []
        trainer.addCallback(EventMask(.save)) { _, state, _, _ in bestAtSaves.append(state.bestModelCheckpoint) }
        try trainer.train()
        let left = try CheckpointDirectory.list(dir).map(\.step)
        let best = try XCTUnwrap(trainer.state.bestModelCheckpoint)
        XCTAssertTrue(left.contains(trainer.state.bestGlobalStep!), "best \(best) was deleted; left \(left)")
        XCTAssertEqual(left.count, 2)
        XCTAssertEqual(bestAtSaves.compactMap { $0 }.last, best)
        XCTAssertEqual(left.last, 40)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasPrefix(".tmp") })
    }

    func testSaveStrategyBestSavesOnlyNewBests() throws {
        let dir = try Self.temporaryDirectory()
        var args = Self.baseArgs(dir)
        args.saveStrategy = .best
        args.evalSteps = 3
        let trainer = try Self.trainer(args)
        var bests: [Int] = []
        var lastBest = Double.infinity
        trainer.addCallback(EventMask(.evaluate)) { _, _, _, metrics in
            if let loss = metrics?["eval_loss"], loss < lastBest { lastBest = loss }
        }
        trainer.addCallback(EventMask(.save)) { _, state, _, _ in bests.append(state.globalStep) }
        try trainer.train()
        XCTAssertFalse(bests.isEmpty)
        XCTAssertEqual(bests.last, trainer.state.bestGlobalStep)
        XCTAssertEqual(try CheckpointDirectory.list(dir).map(\.step), bests)
        XCTAssertTrue(bests.allSatisfy { $0 % 3 == 0 })
    }

    func testSaveOnlyModelCannotBeResumed() throws {
        let dir = try Self.temporaryDirectory()
        var args = Self.baseArgs(dir)
        args.saveOnlyModel = true
        args.numTrainEpochs = 1
        try Self.trainer(args).train()
        let last = try XCTUnwrap(CheckpointDirectory.list(dir).last)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: last.path)),
                       ["model.safetensors", "trainer_state.json", "training_args.json", "swifttrain_args.json", "manifest.json"])
        let resumed = try Self.trainer(args)
        XCTAssertThrowsError(try resumed.train(resumeFrom: .checkpoint(last.path))) {
            XCTAssertTrue(($0 as? SwiftTrainError)?.message.contains("save_only_model") ?? false, "\($0)")
        }
        // Its weights load for inference.
        let model = try Self.model(seed: 5)
        try (model as! Sequential).loadSafetensors(last.path + "/model.safetensors")
    }

    func testDamagedCheckpointsAreRefusedOrPassedOver() throws {
        let dir = try Self.temporaryDirectory()
        var args = Self.baseArgs(dir)
        args.numTrainEpochs = 1  // saves at 4, 8, 10
        try Self.trainer(args).train()
        let newest = dir + "/checkpoint-10"
        // Flip one byte of the weights.
        let path = newest + "/model.safetensors"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Self.trainer(args).train(resumeFrom: .checkpoint(newest))) { error in
            let e = error as! SwiftTrainError
            XCTAssertEqual(e.code, .corrupt)
            XCTAssertTrue(e.message.contains("model.safetensors") && e.message.contains("SHA-256"), e.message)
        }
        // Truncate the optimizer state of the one before.
        let truncated = dir + "/checkpoint-8/optimizer.safetensors"
        let data = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try CheckpointDirectory.open(dir + "/checkpoint-8")) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("optimizer.safetensors"), "\($0)")
        }
        // "latest" falls back to checkpoint-4 and says which ones it passed over.
        var resumedArgs = args
        resumedArgs.numTrainEpochs = 2
        let resumed = try Self.trainer(resumedArgs)
        var startStep = -1
        resumed.addCallback(EventMask(.trainBegin)) { _, state, _, _ in startStep = state.globalStep }
        try resumed.train(resumeFrom: .latest)
        XCTAssertEqual(startStep, 4)
        let report = try XCTUnwrap(resumed.lastResumedFrom)
        XCTAssertTrue(report.contains("checkpoint-4") && report.contains("checkpoint-10") && report.contains("checkpoint-8"), report)
        // A directory without a manifest is not a checkpoint.
        try FileManager.default.createDirectory(atPath: dir + "/checkpoint-99", withIntermediateDirectories: true)
        XCTAssertThrowsError(try CheckpointDirectory.open(dir + "/checkpoint-99")) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("manifest.json"))
        }
    }

    func testResumeRefusesAnotherDataLayout() throws {
        let dir = try Self.temporaryDirectory()
        var args = Self.baseArgs(dir)
        args.numTrainEpochs = 1
        try Self.trainer(args).train()
        args.perDeviceTrainBatchSize = 32
        let other = try Self.trainer(args)
        XCTAssertThrowsError(try other.train(resumeFrom: .latest)) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("per_device_train_batch_size"), "\($0)")
        }
    }
}

/// Weights written by PyTorch (safetensors.torch.save_file; Tests/fixtures/safetensors/make_safetensors_fixture.py).
final class TorchSafetensorsTests: XCTestCase {
    func testPyTorchWeightsLoadByNameAndComputeTheSameFunction() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/safetensors")
        let expected = try JSONValue.parse(Array(try Data(contentsOf: directory.appendingPathComponent("torch_mlp_expected.json"))))
        let rows = try XCTUnwrap(expected["input"]?.arrayValue)
        let input = rows.flatMap { $0.arrayValue!.map { Float($0.doubleValue!) } }
        let output = try XCTUnwrap(expected["output"]?.arrayValue).flatMap { $0.arrayValue!.map { Float($0.doubleValue!) } }
        let model = try Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
        try model.loadSafetensors(directory.appendingPathComponent("torch_mlp.safetensors").path)
        let got = try model.forward(try Tensor(shape: [rows.count, 64], values: input)).values
        XCTAssertEqual(got.count, output.count)
        for (a, b) in zip(got, output) { XCTAssertEqual(a, b, accuracy: 1e-5 * (1 + abs(b))) }
        let smaller = try Sequential(Linear(64, 16), ReLU(), Linear(16, 10))
        XCTAssertThrowsError(try smaller.loadSafetensors(directory.appendingPathComponent("torch_mlp.safetensors").path)) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("0.weight"))
        }
    }
}

/// What a review of the checkpoint code found, kept fixed.
final class CheckpointEdgeTests: XCTestCase {
    typealias T = CheckpointResumeTests

    /// Rewrites one file of a checkpoint and its manifest entry, as a crafted checkpoint would.
    static func tamper(_ checkpoint: String, _ file: String, _ change: (inout String) -> Void) throws {
        let path = checkpoint + "/" + file
        var text = try String(contentsOfFile: path, encoding: .utf8)
        change(&text)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let bytes = Array(text.utf8)
        let sha = bytes.withUnsafeBytes { SHA256.hex($0) }
        var manifest = try String(contentsOfFile: checkpoint + "/manifest.json", encoding: .utf8)
        let entry = try XCTUnwrap(try JSONValue.parse(manifest)["files"]?[file])
        manifest = manifest.replacingOccurrences(of: entry["sha256"]!.stringValue!, with: sha)
            .replacingOccurrences(of: "\"bytes\": \(entry["bytes"]!.intValue!)", with: "\"bytes\": \(bytes.count)")
        try manifest.write(toFile: checkpoint + "/manifest.json", atomically: true, encoding: .utf8)
    }

    func testACraftedCounterIsRefusedNotATrap() throws {
        let dir = try T.temporaryDirectory()
        var args = T.baseArgs(dir)
        args.numTrainEpochs = 1
        try T.trainer(args).train()
        try Self.tamper(dir + "/checkpoint-8", "progress.json") {
            $0 = $0.replacingOccurrences(of: "\"micro_step\": 16", with: "\"micro_step\": 9223372036854775807")
        }
        XCTAssertThrowsError(try T.trainer(args).train(resumeFrom: .checkpoint(dir + "/checkpoint-8"))) {
            XCTAssertEqual(($0 as! SwiftTrainError).code, .corrupt)
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("micro_step"), "\($0)")
        }
    }

    func testARefusedResumeChangesNothing() throws {
        let dir = try T.temporaryDirectory()
        var args = T.baseArgs(dir)
        args.numTrainEpochs = 1
        let trainer = try T.trainer(args)
        try trainer.train()
        let weights = T.weights(trainer), history = T.history(trainer)
        XCTAssertThrowsError(try trainer.train(resumeFrom: .checkpoint(dir + "/missing")))
        XCTAssertEqual(trainer.state.globalStep, 10)
        XCTAssertEqual(T.history(trainer), history)
        XCTAssertEqual(T.weights(trainer), weights)
        var loaded = 0
        let other = try Trainer(model: try Sequential(Linear(64, 16), ReLU(), Linear(16, 10)), loss: .crossEntropy, args: args)
        other.trainDataset = try T.smallDigits("train", 300)
        other.evalDataset = try T.smallDigits("test", 100)
        try other.addCallbackState(CallbackState(name: "c", save: { [] }, load: { _ in loaded += 1 }))
        XCTAssertThrowsError(try other.train(resumeFrom: .latest)) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("0.weight"), "\($0)")
        }
        XCTAssertEqual(loaded, 0)  // the weights do not fit: refused before any callback state is loaded
        XCTAssertNil(other.lastResumedFrom)
    }

    func testAnEarlyStoppedRunStaysStoppedWhenResumed() throws {
        let dir = try T.temporaryDirectory()
        var args = T.baseArgs(dir)
        args.earlyStoppingPatience = 1
        args.earlyStoppingThreshold = 100  // the second evaluation stops training
        args.saveSteps = 5
        let trainer = try T.trainer(args)
        try trainer.train()
        XCTAssertEqual(trainer.state.globalStep, 10)
        let resumed = try T.trainer(args, seed: 3)
        try resumed.train(resumeFrom: .checkpoint(dir + "/checkpoint-10"))
        XCTAssertEqual(resumed.state.globalStep, 10)
        XCTAssertEqual(T.weights(resumed), T.weights(trainer))
    }

    func testAnotherBatchSizeWithTheSameUpdatesPerEpochIsRefused() throws {
        let dir = try T.temporaryDirectory()
        var args = T.baseArgs(dir)
        args.numTrainEpochs = 1
        args.perDeviceTrainBatchSize = 15  // 20 batches, 10 updates per epoch
        try T.trainer(args).train()
        args.perDeviceTrainBatchSize = 16  // 19 batches, also 10 updates per epoch
        XCTAssertThrowsError(try T.trainer(args).train(resumeFrom: .latest)) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("batch size 15"), "\($0)")
        }
    }

    func testRotationFindsTheBestWhateverTheSpellingOfOutputDir() throws {
        let dir = try T.temporaryDirectory()
        var args = T.baseArgs(dir)
        args.saveTotalLimit = 1
        args.saveSteps = 5
        args.numTrainEpochs = 1
        args.earlyStoppingPatience = 1
        args.greaterIsBetter = true  // "best" is the highest loss: the first evaluation, step 5
        try T.trainer(args).train()
        XCTAssertEqual(try CheckpointDirectory.list(dir).map(\.step), [5, 10])
        args.outputDir = dir + "/./"
        args.numTrainEpochs = 2
        args.earlyStoppingPatience = 0
        args.metricForBestModel = "loss"
        let resumed = try T.trainer(args)
        try resumed.train(resumeFrom: .checkpoint(dir + "/checkpoint-5"))
        let left = try CheckpointDirectory.list(dir).map(\.step)
        XCTAssertTrue(left.contains(resumed.state.bestGlobalStep!), "the best was deleted: \(left)")
    }
}

final class SHA256PathTests: XCTestCase {
    /// The SHA-extension path and the portable path agree (ParsingTests checks NIST's vectors
    /// with whichever this machine uses).
    func testAcceleratedAndPortableCompressionAgree() throws {
        var generator = Generator(seed: 5)
        let saved = SHA256.accelerated
        defer { SHA256.accelerated = saved }
        for length in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 100_003] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            var digests: [String] = []
            for accelerated in [false, true] where !accelerated || stx_sha256_ni_available() != 0 {
                SHA256.accelerated = accelerated
                var s = SHA256()
                s.update(Array(bytes.prefix(length / 3)))  // in two pieces, across block boundaries
                s.update(Array(bytes.dropFirst(length / 3)))
                digests.append(s.finalizeHex())
            }
            XCTAssertEqual(Set(digests).count, 1, "length \(length): \(digests)")
        }
        SHA256.accelerated = false
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { SHA256.hex($0) },
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

/// Stops and resumes around epoch ends (the second review).
final class CheckpointStopTests: XCTestCase {
    typealias T = CheckpointResumeTests

    func testAStopWithASaveMidEpochResumesWithinThatEpoch() throws {
        var reference = T.baseArgs(try T.temporaryDirectory())
        reference.saveStrategy = .epoch
        let uninterrupted = try T.trainer(reference)
        try uninterrupted.train()

        var args = T.baseArgs(try T.temporaryDirectory())
        args.saveStrategy = .epoch
        let stopped = try T.trainer(args)
        stopped.addCallback(EventMask(.stepEnd)) { _, state, control, _ in  // what Python's Ctrl-C does
            if state.globalStep == 13 { control.shouldTrainingStop = true; control.shouldSave = true }
        }
        try stopped.train()
        XCTAssertEqual(stopped.state.globalStep, 13)
        let resumed = try T.trainer(args, seed: 9)
        try resumed.train(resumeFrom: .checkpoint(args.outputDir + "/checkpoint-13"))
        XCTAssertEqual(resumed.state.globalStep, 30)
        T.assertSame(T.history(resumed), T.history(uninterrupted), "log history entry", file: #filePath, line: #line)
        XCTAssertEqual(T.weights(resumed), T.weights(uninterrupted))
    }

    func testAnEarlyStopAtAnEpochEndLeavesNothingToDoOnResume() throws {
        var args = T.baseArgs(try T.temporaryDirectory())
        args.evalStrategy = .epoch
        args.saveStrategy = .epoch
        args.earlyStoppingPatience = 1
        args.earlyStoppingThreshold = 100
        let first = try T.trainer(args)
        try first.train()
        XCTAssertEqual(first.state.globalStep, 20)
        let checkpoint = args.outputDir + "/checkpoint-20"
        let before = try CheckpointDirectory.open(checkpoint).bytes("progress.json")
        let resumed = try T.trainer(args, seed: 9)
        var events: [TrainerEvent] = []
        resumed.addCallback { event, _, _, _ in events.append(event) }
        try resumed.train(resumeFrom: .checkpoint(checkpoint))
        XCTAssertEqual(resumed.state.globalStep, 20)
        XCTAssertFalse(events.contains(.evaluate) || events.contains(.save) || events.contains(.epochBegin), "\(events)")
        XCTAssertEqual(try CheckpointDirectory.open(checkpoint).bytes("progress.json"), before)  // not saved again
        // The same checkpoint without early stopping in the resumed run trains on.
        args.earlyStoppingPatience = 0
        let onward = try T.trainer(args, seed: 9)
        try onward.train(resumeFrom: .checkpoint(checkpoint))
        XCTAssertEqual(onward.state.globalStep, 30)
    }

    func testACallbacksEpochStopMovesOnAfterAResume() throws {
        func epochStopAtThree(_ t: Trainer) {
            t.addCallback(EventMask(.stepEnd)) { _, state, control, _ in if state.globalStep == 3 { control.shouldEpochStop = true } }
        }
        var reference = T.baseArgs(try T.temporaryDirectory())
        reference.saveStrategy = .epoch
        let uninterrupted = try T.trainer(reference)
        epochStopAtThree(uninterrupted)
        try uninterrupted.train()
        XCTAssertEqual(uninterrupted.state.globalStep, 23)

        var args = T.baseArgs(try T.temporaryDirectory())
        args.saveStrategy = .epoch
        let first = try T.trainer(args)
        epochStopAtThree(first)
        first.addCallback(EventMask(.stepBegin)) { _, state, _, _ in if state.globalStep == 6 { throw T.Interrupted() } }
        XCTAssertThrowsError(try first.train())
        let resumed = try T.trainer(args, seed: 9)
        try resumed.train(resumeFrom: .checkpoint(args.outputDir + "/checkpoint-3/"))  // a trailing slash is fine
        XCTAssertEqual(resumed.state.globalStep, 23)
        XCTAssertEqual(T.weights(resumed), T.weights(uninterrupted))
    }
}
