import Foundation
import XCTest
@testable import SwiftTrain

/// The trainer's contract with user code: models with their own forward, their own loss,
/// data from sources of any kind.
final class UserCodeTests: XCTestCase {
    /// The digits MLP written as a model of one's own, taking the batch by name.
    final class Net: CustomModule {
        let body: [Module]
        let head: Linear
        var isTraining = true
        /// With `ownLoss`, the model returns {"loss", "logits"} (HF's models with labels).
        let ownLoss: Bool
        init(ownLoss: Bool = false) throws {
            body = [try Linear(64, 32), ReLU()]
            head = try Linear(32, 10)
            self.ownLoss = ownLoss
        }
        func forward(batch: Batch) throws -> ModelOutput {
            var x = batch["input"]!
            for layer in body { x = try layer.forward(x) }
            let logits = try head.forward(x)
            guard ownLoss, let labels = batch["labels"] else { return ModelOutput(logits) }
            return try ModelOutput([("loss", try crossEntropy(logits, target: labels)), ("logits", logits)])
        }
    }

    private func args(_ edit: (inout TrainingArguments) -> Void = { _ in }) -> TrainingArguments {
        var a = TrainingArguments.noSaving
        a.maxSteps = 30
        a.perDeviceTrainBatchSize = 32
        a.learningRate = 1e-2
        a.loggingStrategy = .no
        edit(&a)
        return a
    }

    private func weights(_ m: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: m.stateDict().map { ($0.name, $0.tensor.values) })
    }

    @discardableResult
    private func train(_ model: Module, _ data: DataSource, loss: LossKind = .crossEntropy,
                       args a: TrainingArguments? = nil, computeLoss: ComputeLoss? = nil) throws -> Trainer {
        let t = try Trainer(model: model, loss: loss, args: a ?? args())
        t.trainDataset = data
        t.computeLoss = computeLoss
        try t.train()
        return t
    }

    func testCustomModuleNamesParametersAsTorch() throws {
        let net = try Net()
        XCTAssertEqual(net.stateDict().map(\.name), ["body.0.weight", "body.0.bias", "head.weight", "head.bias"])
        XCTAssertEqual(net.parameterCount, 64 * 32 + 32 + 32 * 10 + 10)
        net.eval()
        XCTAssertFalse(net.head.isTraining)
    }

    func testCustomForwardTrainsLikeTheSameBuiltInModel() throws {
        manualSeed(7)
        let built = try Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
        manualSeed(7)
        let custom = try Net()
        let a = try train(built, try Digits.dataset("train"))
        let b = try train(custom, try Digits.dataset("train"))
        XCTAssertEqual(a.state.logHistory.last!["train_loss"], b.state.logHistory.last!["train_loss"])
        XCTAssertEqual(Array(weights(built).values).sorted { $0.count < $1.count }.flatMap { $0 }.count,
                       Array(weights(custom).values).flatMap { $0 }.count)
        XCTAssertEqual(built.stateDict().map(\.tensor.values), custom.stateDict().map(\.tensor.values))
    }

    func testModelReturningItsLossTrainsAsTheBuiltInLoss() throws {
        manualSeed(3)
        let plain = try Net()
        manualSeed(3)
        let withLoss = try Net(ownLoss: true)
        // gradient accumulation and micro-batches: the model's mean loss is weighted per piece
        let a = args { $0.gradientAccumulationSteps = 3; $0.maxMicroBatchSize = 16 }
        try train(plain, try Digits.dataset("train"), args: a)
        try train(withLoss, try Digits.dataset("train"), args: a)
        let p = plain.stateDict().map(\.tensor.values), q = withLoss.stateDict().map(\.tensor.values)
        for (x, y) in zip(p, q) {
            for (u, v) in zip(x, y) { XCTAssertEqual(u, v, accuracy: 1e-5) }
        }
    }

    /// Trainer.defaultLoss is the rule training applies (HF's default compute_loss): the
    /// model's loss, except that label smoothing replaces it with the smoothed built-in loss.
    func testDefaultLossIsTheTrainingRule() throws {
        let logits = try Tensor(shape: [2, 3], values: [0.5, -1, 2, 0.25, 1, -0.5])
        let labels = try Tensor(shape: [2], int64Values: [2, 0])
        let own = try Tensor(shape: [1], values: [4])
        let inputs = try Batch([("input", logits), ("labels", labels)])
        let plain = try Trainer(model: try Net(), loss: .crossEntropy, args: args())
        XCTAssertEqual(try plain.defaultLoss(outputs: try ModelOutput([("loss", own), ("logits", logits)]), inputs: inputs).item(), 4)
        XCTAssertEqual(try plain.defaultLoss(outputs: ModelOutput(logits), inputs: inputs).item(),
                       try crossEntropy(logits, target: labels).item())
        let smoothing = try Trainer(model: try Net(), loss: .crossEntropy, args: args { $0.labelSmoothingFactor = 0.1 })
        XCTAssertEqual(try smoothing.defaultLoss(outputs: try ModelOutput([("loss", own), ("logits", logits)]), inputs: inputs).item(),
                       try crossEntropy(logits, target: labels, labelSmoothing: 0.1).item())
        XCTAssertThrowsError(try plain.defaultLoss(outputs: ModelOutput(logits), inputs: try Batch([("input", logits)]))) {
            XCTAssertTrue("\($0)".contains("no labels"), "\($0)")
        }
    }

    func testComputeLossReplacesTheBuiltInLoss() throws {
        // a user's cross-entropy with label smoothing equals the built-in loss with HF's
        // label_smoothing_factor
        manualSeed(5)
        let a = try Net()
        manualSeed(5)
        let b = try Net()
        var seen = 0
        try train(a, try Digits.dataset("train"), args: args { $0.labelSmoothingFactor = 0.1 })
        try train(b, try Digits.dataset("train"), computeLoss: { out, batch, items in
            seen = items
            return try crossEntropy(out.logits!, target: batch["labels"]!, labelSmoothing: 0.1)
        })
        XCTAssertEqual(seen, 32)  // HF's num_items_in_batch: the step's labels
        for (x, y) in zip(a.stateDict().map(\.tensor.values), b.stateDict().map(\.tensor.values)) {
            for (u, v) in zip(x, y) { XCTAssertEqual(u, v, accuracy: 1e-6) }
        }
    }

    /// Token sequences of varying length, padded per batch: "input_ids" [B, T] int64,
    /// "attention_mask" [B, T] bool and one label per sequence: whether token 1 occurs.
    final class Sequences: DataSource {
        let sequences: [[Int64]]
        var fetches = 0
        init(count: Int, seed: UInt64) {
            var g = Generator(seed: seed, stream: 0)
            sequences = (0..<count).map { _ in
                (0..<(3 + Int(g.next() % 6))).map { _ in Int64(2 + g.next() % 6) + (g.next() % 3 == 0 ? -1 : 0) }
            }
        }
        var count: Int? { sequences.count }
        func batch(indices: ArraySlice<Int>) throws -> Batch {
            fetches += 1
            let rows = indices.map { sequences[$0] }
            let t = rows.map(\.count).max()!
            let ids = try Tensor(shape: [rows.count, t], values: rows.flatMap { r in (r + Array(repeating: 0, count: t - r.count)).map(Float.init) })
            let mask = try Tensor(shape: [rows.count, t], values: rows.flatMap { r in Array(repeating: Float(1), count: r.count) + Array(repeating: 0, count: t - r.count) })
            let labels = try Tensor(shape: [rows.count], values: rows.map { $0.contains(1) ? Float(1) : 0 })
            return try Batch([("input_ids", try ids.to(.int64)), ("attention_mask", try mask.to(.bool)), ("labels", try labels.to(.int64))])
        }
    }

    /// Embedding, masked mean over the tokens, Linear.
    final class BagOfTokens: CustomModule {
        let embedding = try! Embedding(8, 16, paddingIndex: 0)
        let head = try! Linear(16, 2)
        var isTraining = true
        func forward(batch: Batch) throws -> ModelOutput {
            guard let m = batch["attention_mask"] else { throw SwiftTrainError(.invalidArgument, "no attention_mask") }
            let mask = try m.to(.float32).unsqueeze(dim: 2)
            let e = try embedding.forward(batch["input_ids"]!) * mask
            let pooled = try e.sum(dims: [1]) / (try mask.sum(dims: [1]))
            return ModelOutput(try head.forward(pooled))
        }
    }

    func testTokenSequencesTrainAndEvaluate() throws {
        manualSeed(11)
        let model = BagOfTokens()
        let t = try Trainer(model: model, args: args { $0.maxSteps = 150; $0.learningRate = 5e-2; $0.perDeviceTrainBatchSize = 16 })
        t.trainDataset = Sequences(count: 400, seed: 1)
        let m0 = try t.evaluate(Sequences(count: 200, seed: 2))
        try t.train()
        let m = try t.evaluate(Sequences(count: 200, seed: 2))
        XCTAssertLessThan(m["eval_loss"]!, m0["eval_loss"]!)
        XCTAssertGreaterThan(m["eval_accuracy"]!, 0.9)
    }

    /// A character-level language model: logits [B, T, V] against labels [B, T] with -100 at
    /// padding, as HF's causal LMs.
    final class TinyLM: CustomModule {
        let embedding = try! Embedding(5, 8)
        let head = try! Linear(8, 5)
        var isTraining = true
        func forward(batch: Batch) throws -> ModelOutput {
            ModelOutput(try head.forward(try embedding.forward(batch["input_ids"]!)))
        }
    }

    final class Cycles: DataSource {
        // next token = (token + 1) % 5; sequences of length 2...6, labels padded with -100
        var count: Int? { 60 }
        func batch(indices: ArraySlice<Int>) throws -> Batch {
            let lengths = indices.map { 2 + $0 % 5 }, t = lengths.max()!
            var ids: [Float] = [], labels: [Float] = []
            for (i, n) in zip(indices, lengths) {
                for j in 0..<t {
                    ids.append(j < n ? Float((i + j) % 5) : 0)
                    labels.append(j < n ? Float((i + j + 1) % 5) : -100)
                }
            }
            return try Batch([("input_ids", try Tensor(shape: [indices.count, t], values: ids).to(.int64)),
                              ("labels", try Tensor(shape: [indices.count, t], values: labels).to(.int64))])
        }
    }

    func testTokenLevelLogitsWithIgnoredPadding() throws {
        manualSeed(2)
        let t = try Trainer(model: TinyLM(), args: args { $0.maxSteps = 200; $0.learningRate = 5e-2; $0.perDeviceEvalBatchSize = 2 })
        t.trainDataset = Cycles()
        try t.train()
        let m = try t.evaluate(Cycles())
        XCTAssertEqual(m["eval_accuracy"], 1)  // padding (-100) is not counted
        XCTAssertLessThan(m["eval_loss"]!, 0.1)
        // predictions of every batch, padded to the longest with -100 (HF)
        let (p, _) = try t.predictionOutput(Cycles())
        XCTAssertEqual(p.predictionShape, [60, 6, 5])
        XCTAssertEqual(p.labelShape, [60, 6])
        XCTAssertEqual(p.labelIds![0 * 6 + 2], -100)  // sample 0 has 2 tokens
        XCTAssertEqual(p.predictions[(0 * 6 + 5) * 5], -100)
    }

    /// Yields the digits in order, `perEpoch` batches per epoch.
    final class Stream: DataSource {
        let data: Dataset
        let perEpoch: Int?
        var calls: [(Int, Int)] = []
        init(_ data: Dataset, perEpoch: Int? = nil) { self.data = data; self.perEpoch = perEpoch }
        var count: Int? { nil }
        func batch(epoch: Int, index: Int, batchSize: Int) throws -> Batch? {
            calls.append((epoch, index))
            let start = index * batchSize
            if let perEpoch, index >= perEpoch { return nil }
            guard start < data.numSamples else { return nil }
            return try data.batch(indices: Array(start..<Swift.min(start + batchSize, data.numSamples))[...])
        }
    }

    func testIterableDatasetNeedsMaxStepsAndMatchesUnshuffledMapStyle() throws {
        let digits = try Digits.dataset("train")
        manualSeed(1)
        let noSteps = try Trainer(model: try Net(), args: args { $0.maxSteps = -1 })
        noSteps.trainDataset = Stream(digits)
        XCTAssertThrowsError(try noSteps.train()) { XCTAssertTrue("\($0)".contains("set max_steps"), "\($0)") }

        // 1438 samples / 32 = 45 batches an epoch: 100 steps cross two epoch ends
        let a = args { $0.maxSteps = 100; $0.dataloaderShuffle = false }
        manualSeed(4)
        let streamed = try Net()
        let stream = Stream(digits)
        let t = try train(streamed, stream, args: a)
        manualSeed(4)
        let mapped = try Net()
        try train(mapped, digits, args: a)
        XCTAssertEqual(streamed.stateDict().map(\.tensor.values), mapped.stateDict().map(\.tensor.values))
        XCTAssertEqual(t.state.globalStep, 100)
        XCTAssertEqual(stream.calls.filter { $0.1 == 0 }.map(\.0), [0, 1, 2])  // three epochs begun
    }

    func testResumeIsExactWithAMapStyleSourceAndACustomModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-user-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = args { $0.maxSteps = 60; $0.perDeviceTrainBatchSize = 16; $0.saveStrategy = .steps; $0.saveSteps = 25
            $0.outputDir = dir; $0.loggingStrategy = .steps; $0.loggingSteps = 5 }
        manualSeed(9)
        let whole = BagOfTokens()
        try train(whole, Sequences(count: 300, seed: 3), args: a)
        manualSeed(1234)  // other initial weights: all of them come from the checkpoint
        let resumed = BagOfTokens()
        let t = try Trainer(model: resumed, args: a)
        t.trainDataset = Sequences(count: 300, seed: 3)
        try t.train(resumeFrom: .checkpoint(dir + "/checkpoint-50"))
        XCTAssertEqual(whole.stateDict().map(\.tensor.values), resumed.stateDict().map(\.tensor.values))
    }

    func testBadUserCodeIsReportedWithTheBatch() throws {
        final class Wrong: CustomModule {
            let head = try! Linear(64, 10)
            var isTraining = true
            var calls = 0
            func forward(batch: Batch) throws -> ModelOutput {
                calls += 1
                let logits = try head.forward(batch["input"]!)
                return calls > 3 ? try ModelOutput([("loss", logits)]) : ModelOutput(logits)  // a loss that is not a scalar
            }
        }
        let t = try Trainer(model: Wrong(), args: args())
        t.trainDataset = try Digits.dataset("train")
        XCTAssertThrowsError(try t.train()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("epoch 0, batch 2"), message)  // (call 1 is the check)
            XCTAssertTrue(message.contains("must be a float32 scalar"), message)
        }
        let missing = try Trainer(model: BagOfTokens(), args: args())
        final class NoMask: DataSource {
            var count: Int? { 4 }
            func batch(indices: ArraySlice<Int>) throws -> Batch {
                try Batch([("input_ids", Tensor.zeros([indices.count, 3], dtype: .int64)), ("labels", Tensor.zeros([indices.count], dtype: .int64))])
            }
        }
        missing.trainDataset = NoMask()
        XCTAssertThrowsError(try missing.train()) { error in
            XCTAssertTrue("\(error)".contains("first sample (input_ids int64 [1, 3], labels int64 [1])"), "\(error)")
        }
    }

    class Base: CustomModule {
        let encoder = try! Linear(4, 4)
        var isTraining = true
        func forward(batch: Batch) throws -> ModelOutput { ModelOutput(try encoder.forward(batch["input"]!)) }
    }

    final class WithHead: Base {
        lazy var head = try! Linear(4, 2)
        override func forward(batch: Batch) throws -> ModelOutput {
            ModelOutput(try head.forward(try super.forward(batch: batch).logits!))
        }
    }

    final class Block: CustomModule {
        let fc = try! Linear(2, 2)
        var owner: Module?  // a reference back to the parent: a cycle
        var isTraining = true
        func forward(_ input: Tensor) throws -> Tensor { try fc.forward(input) }
    }

    final class Parent: CustomModule {
        let block = Block()
        var isTraining = true
        func forward(_ input: Tensor) throws -> Tensor { try block.forward(input) }
    }

    func testReflectionFindsInheritedAndLazyLayersAndRefusesCycles() throws {
        let model = WithHead()
        _ = model.head
        XCTAssertEqual(model.stateDict().map(\.name), ["encoder.weight", "encoder.bias", "head.weight", "head.bias"])
        XCTAssertEqual(model.parameterCount, 20 + 10)
        let parent = Parent()
        XCTAssertNoThrow(try Trainer(model: parent, args: args()))
        parent.block.owner = parent
        XCTAssertThrowsError(try Trainer(model: parent, args: args())) {
            XCTAssertTrue("\($0)".contains("contains itself"), "\($0)")
        }
    }

    func testDatasetIndicesAreChecked() throws {
        let data = try Dataset(features: [1, 2, 3, 4], numFeatures: 2)
        XCTAssertThrowsError(try data.batch(indices: [0, 2][...])) { XCTAssertTrue("\($0)".contains("outside [0, 2)"), "\($0)") }
    }

    func testEveryBuiltInLossTrains() throws {
        // regression losses on a float target, bce on multi-label targets
        let x = (0..<256).map { Float($0 % 16) / 16 }
        let n = 64
        for kind in [LossKind.mse, .l1, .smoothL1, .huber, .bceWithLogits] {
            let targets = (0..<n).map { i in Float((i % 4) > 1 ? 1 : 0) }
            let data = try targets.withUnsafeBufferPointer { y in
                try x.withUnsafeBufferPointer {
                    try Dataset(copying: $0.baseAddress!, numSamples: n, numFeatures: 4, targets: .values(y.baseAddress!, width: 1))
                }
            }
            manualSeed(1)
            let model = try Sequential(Linear(4, 8), ReLU(), Linear(8, 1))
            let t = try Trainer(model: model, loss: kind, args: args { $0.maxSteps = 40; $0.perDeviceTrainBatchSize = 16 })
            t.trainDataset = data
            let before = try t.evaluate(data)["eval_loss"]!
            try t.train()
            XCTAssertLessThan(try t.evaluate(data)["eval_loss"]!, before, "\(kind)")
        }
    }
}

