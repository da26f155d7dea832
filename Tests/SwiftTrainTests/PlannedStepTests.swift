import XCTest
@testable import SwiftTrain

/// The planned training step (PlannedStep) against the general path (forward, autograd,
/// backward), which the trainer takes when a callback listens to a step's tensors: the same
/// weights, losses and errors.
final class PlannedStepTests: XCTestCase {
    /// A dataset of `n` samples of `features` values and labels in 0..<classes, reproducible.
    static func data(n: Int, features: Int, classes: Int, seed: UInt64 = 1) throws -> Dataset {
        var g = Generator(seed: seed)
        let x = (0..<(n * features)).map { _ in g.uniform(-1, 1) }
        let y = (0..<n).map { _ in Int64(g.next() % UInt64(classes)) }
        return try Dataset(features: x, numFeatures: features, labels: y)
    }

    static func model(_ layers: () throws -> [Module]) throws -> Sequential {
        manualSeed(7)
        return try Sequential(try layers())
    }

    /// Trains a fresh model (built by `layers`) on `data` and returns the trainer and its
    /// weights; `general` forces the general path with a callback on AFTER_BACKWARD.
    static func train(_ layers: () throws -> [Module], data: Dataset, general: Bool,
                      _ configure: (inout TrainingArguments) -> Void = { _ in },
                      onStepBegin: @escaping (Int) -> Void = { _ in }) throws -> (Trainer, [Float]) {
        var args = TrainingArguments()
        args.maxSteps = 12
        args.perDeviceTrainBatchSize = 16
        args.optim = .adamw
        args.learningRate = 1e-2
        args.loggingSteps = 1
        args.maxGradNorm = 1
        args.saveStrategy = .no
        configure(&args)
        let trainer = try Trainer(model: try model(layers), args: args)
        trainer.trainDataset = data
        trainer.addCallback(EventMask(.stepBegin)) { _, state, _, _ in onStepBegin(state.globalStep) }
        var backwards = 0
        if general { trainer.addCallback(EventMask(.afterBackward)) { _, _, _, _ in backwards += 1 } }
        try trainer.train()
        if general { XCTAssertGreaterThanOrEqual(backwards, 12) }
        XCTAssertEqual(trainer.plannedSteps, general ? 0 : trainer.state.globalStep)
        return (trainer, trainer.model.parameters.flatMap(\.values))
    }

    static let mlp: @Sendable () throws -> [Module] = {
        [try Linear(10, 32), ReLU(), try Linear(32, 24), Tanh(), try Linear(24, 16), try GELU(), try Linear(16, 5)]
    }

    func testThePlanIsMadeForLinearLayersAndElementwiseActivationsOnly() throws {
        let data = try Self.data(n: 40, features: 10, classes: 5)
        let resolver = LossResolver(kind: .crossEntropy, custom: nil, labelSmoothing: 0)
        XCTAssertNotNil(PlannedStep.make(model: try Self.model(Self.mlp), losses: resolver, dataset: data, args: TrainingArguments()))
        let nested = try Sequential([try Sequential([try Linear(10, 8), Sigmoid()]), Flatten(), try Dropout(p: 0), try Linear(8, 5)])
        XCTAssertNotNil(PlannedStep.make(model: nested, losses: resolver, dataset: data, args: TrainingArguments()))
        for model in [try Sequential([try Linear(10, 8), try Dropout(p: 0.5), try Linear(8, 5)]),
                      try Sequential([try Linear(10, 5), Softmax(dim: 1)]), try Sequential([try Linear(9, 5)])] as [Module] {
            XCTAssertNil(PlannedStep.make(model: model, losses: resolver, dataset: data, args: TrainingArguments()), "\(model)")
        }
        let smoothing = LossResolver(kind: .crossEntropy, custom: nil, labelSmoothing: 0.1)
        XCTAssertNil(PlannedStep.make(model: try Self.model(Self.mlp), losses: smoothing, dataset: data, args: TrainingArguments()))
        let mse = LossResolver(kind: .mse, custom: nil, labelSmoothing: 0)
        XCTAssertNil(PlannedStep.make(model: try Self.model(Self.mlp), losses: mse, dataset: data, args: TrainingArguments()))
    }

    func testAPlannedRunGivesTheGeneralPathsBits() throws {
        // 40 samples in batches of 16: a ragged last batch every epoch
        let data = try Self.data(n: 40, features: 10, classes: 5)
        let (planned, weights) = try Self.train(Self.mlp, data: data, general: false)
        let (general, reference) = try Self.train(Self.mlp, data: data, general: true)
        XCTAssertEqual(weights, reference)
        XCTAssertEqual(planned.state.logHistory.compactMap { $0["loss"] }, general.state.logHistory.compactMap { $0["loss"] })
        XCTAssertEqual(planned.state.logHistory.compactMap { $0["grad_norm"] },
                       general.state.logHistory.compactMap { $0["grad_norm"] })
        XCTAssertEqual(planned.state.microStep, general.state.microStep)
        XCTAssertEqual(planned.state.totalFlos, general.state.totalFlos)
    }

    func testAccumulationAndMicroBatchesMatchTheGeneralPathWithinRounding() throws {
        let data = try Self.data(n: 40, features: 10, classes: 5)
        for configure: (inout TrainingArguments) -> Void in [{ $0.gradientAccumulationSteps = 2 }, { $0.maxMicroBatchSize = 5 }] {
            let (planned, weights) = try Self.train(Self.mlp, data: data, general: false, configure)
            let (general, reference) = try Self.train(Self.mlp, data: data, general: true, configure)
            for (a, b) in zip(weights, reference) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            for (a, b) in zip(planned.state.logHistory.compactMap { $0["loss"] }, general.state.logHistory.compactMap { $0["loss"] }) {
                XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)))
            }
            XCTAssertEqual(planned.state.microStep, general.state.microStep)
        }
    }

    func testFrozenLayersAndLayersWithoutBiasTrainAsOnTheGeneralPath() throws {
        let data = try Self.data(n: 40, features: 10, classes: 5)
        let layers: () throws -> [Module] = {
            let first = try Linear(10, 12), middle = try Linear(12, 8, bias: false)
            first.weight.requiresGrad = false
            first.bias!.requiresGrad = false
            return [first, ReLU(), middle, ReLU(), try Linear(8, 5)]
        }
        let (_, weights) = try Self.train(layers, data: data, general: false)
        let (_, reference) = try Self.train(layers, data: data, general: true)
        XCTAssertEqual(weights, reference)
        manualSeed(7)
        let initial = try Linear(10, 12).weight.values
        XCTAssertEqual(Array(weights.prefix(120)), initial)  // the frozen weight did not move
    }

    /// Labels are checked when training starts; a borrowed label buffer that changes during
    /// training is caught where the loss reads it, with the same error on both paths, and
    /// -100 (ignore_index) appearing mid-run is ignored on both.
    func testLabelsChangedDuringTrainingAreCheckedAsOnTheGeneralPath() throws {
        let x = (0..<400).map { Float($0 % 13) / 13 }
        for (value, fails) in [(Int64(9), true), (-100, false)] {
            var results: [Result<[Float], Error>] = []
            for general in [false, true] {
                let y = UnsafeMutablePointer<Int64>.allocate(capacity: 40)
                defer { y.deallocate() }
                for i in 0..<40 { y[i] = Int64(i % 5) }
                let borrowed = try x.withUnsafeBufferPointer { features in
                    try Dataset(borrowing: features.baseAddress!, numSamples: 40, numFeatures: 10, targets: .labels(UnsafePointer(y)))
                }
                results.append(Result {
                    let (trainer, weights) = try Self.train(Self.mlp, data: borrowed, general: general) {
                        $0.dataloaderShuffle = false
                    } onStepBegin: { step in if step == 1 { y[21] = value } }
                    _ = trainer
                    return weights
                })
            }
            switch (results[0], results[1]) {
            case let (.failure(a), .failure(b)) where fails:
                let (m, n) = ((a as? SwiftTrainError)?.message ?? "\(a)", (b as? SwiftTrainError)?.message ?? "\(b)")
                XCTAssertEqual(m, n)
                XCTAssertTrue(m.hasPrefix("epoch 0, batch 1 (step 2): cross_entropy: target 9 at position 5"), m)
            case let (.success(a), .success(b)) where !fails:
                XCTAssertEqual(a, b)
            default:
                XCTFail("\(value): \(results)")
            }
        }
    }
}
