import XCTest
@testable import SwiftTrain

/// Gradient accumulation, micro-batching, the moving average and argument checks.
final class OptimizationTests: XCTestCase {
    /// Trains a fresh, identically initialised MLP on the digits and returns its weights.
    private func trainedWeights(_ configure: (inout TrainingArguments) -> Void) throws -> (weights: [[Float]], trainer: Trainer) {
        manualSeed(3)
        var args = TrainingArguments.noSaving
        args.numTrainEpochs = 2
        args.learningRate = 2e-3
        args.loggingSteps = 1000
        configure(&args)
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = try Digits.dataset("train")
        if args.evalStrategy != .no { trainer.evalDataset = try Digits.dataset("test") }
        try trainer.train()
        return (trainer.model.parameters.map(\.values), trainer)
    }

    private func assertClose(_ a: [[Float]], _ b: [[Float]], tolerance: Float = 2e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        var worst: Float = 0
        for (x, y) in zip(a, b) { for (u, v) in zip(x, y) { worst = max(worst, abs(u - v) / (1 + abs(v))) } }
        XCTAssertLessThan(worst, tolerance, "largest relative difference \(worst)", file: file, line: line)
    }

    func testAccumulationEqualsOneBigBatchIncludingARaggedLastWindow() throws {
        // 1438 samples: batches of 32 end with one of 30; 8 x 4 ends with 8 + 8 + 8 + 6.
        let big = try trainedWeights { $0.perDeviceTrainBatchSize = 32 }
        let accumulated = try trainedWeights { $0.perDeviceTrainBatchSize = 8; $0.gradientAccumulationSteps = 4 }
        XCTAssertEqual(big.trainer.state.globalStep, accumulated.trainer.state.globalStep)
        XCTAssertEqual(big.trainer.state.globalStep, 2 * 45)
        assertClose(accumulated.weights, big.weights)
        // 90 batches of 16 in windows of 4: the last window has only 2 batches (16 + 14).
        let wide = try trainedWeights { $0.perDeviceTrainBatchSize = 64 }
        let ragged = try trainedWeights { $0.perDeviceTrainBatchSize = 16; $0.gradientAccumulationSteps = 4 }
        assertClose(ragged.weights, wide.weights)
        XCTAssertNotEqual(wide.weights[0], big.weights[0])  // the comparison can fail
    }

    func testMicroBatchingGivesTheSameUpdate() throws {
        let whole = try trainedWeights { $0.perDeviceTrainBatchSize = 32 }
        let split = try trainedWeights { $0.perDeviceTrainBatchSize = 32; $0.maxMicroBatchSize = 5 }
        assertClose(split.weights, whole.weights)
    }

    func testEvaluationUsesTheAveragedWeightsAndTrainingTheRawOnes() throws {
        let withEval = try trainedWeights { $0.emaDecay = 0.9; $0.evalStrategy = .epoch }
        let trainer = withEval.trainer
        // evaluation during training did not disturb the raw weights training continued from
        let withoutEval = try trainedWeights { $0.emaDecay = 0.9 }
        XCTAssertEqual(withEval.weights, withoutEval.weights)
        // evaluate() uses the moving average: the same as a model holding the averaged weights
        let average = try XCTUnwrap(trainer.movingAverage)
        XCTAssertEqual(average.numUpdates, 2 * 180)  // 1438 samples in batches of 8
        let test = try Digits.dataset("test")
        let averagedLoss = try trainer.evaluate(test)["eval_loss"]!
        XCTAssertEqual(trainer.model.parameters.map(\.values), withEval.weights)  // swapped back
        average.swap()
        manualSeed(0)
        let plain = try Trainer(model: trainer.model, loss: .crossEntropy, args: TrainingArguments.noSaving)
        let manual = try plain.evaluate(test)["eval_loss"]!
        average.swap()
        XCTAssertEqual(averagedLoss, manual, accuracy: 1e-12)
        let rawLoss = try Trainer(model: trainer.model, loss: .crossEntropy, args: TrainingArguments.noSaving).evaluate(test)["eval_loss"]!
        XCTAssertNotEqual(rawLoss, averagedLoss)
    }

    func testNonFiniteGradientsStopOrSkip() throws {
        var x = [Float](repeating: 0.5, count: 64 * 8)
        x[3] = .nan
        let data = try Dataset(features: x, numFeatures: 64, labels: [Int64](repeating: 1, count: 8))
        var args = TrainingArguments.noSaving
        args.maxSteps = 2
        args.perDeviceTrainBatchSize = 8
        manualSeed(0)
        let trainer = try Trainer(model: try Digits.mlp(), loss: .crossEntropy, args: args)
        trainer.trainDataset = data
        XCTAssertThrowsError(try trainer.train()) { XCTAssertTrue("\($0)".contains("nonfinite_grad_norm"), "\($0)") }
        args.nonFiniteGradNorm = .skip
        let skipping = try Trainer(model: trainer.model, loss: .crossEntropy, args: args)
        skipping.trainDataset = data
        let before = skipping.model.parameters.map(\.values)
        try skipping.train()
        XCTAssertEqual(skipping.state.skippedSteps, 2)
        XCTAssertEqual(skipping.model.parameters.map(\.values), before)
    }

    func testReduceOnPlateauLowersTheRateWhenTheMetricStalls() throws {
        var p = try ReduceLROnPlateau.make(kwargs: "patience=1,factor=0.5")
        var rates = [1e-3]
        for metric in [1.0, 0.9, 0.95, 0.93, 0.91, 0.91] { rates = p.step(metric: metric, rates: rates) }
        // 0.95 and 0.93 do not beat 0.9: the second bad one exceeds patience 1 -> 5e-4; then
        // 0.91 and 0.91 do not beat 0.9 either -> 2.5e-4
        XCTAssertEqual(rates, [2.5e-4])
    }

    func testInvalidValuesAreRejectedWithTheirName() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        let p = [try Tensor.full([2], 1, requiresGrad: true)]
        XCTAssertTrue(message { _ = try SGD(p, lr: -1) }.contains("lr must be >= 0"))
        XCTAssertTrue(message { _ = try Adam(p, betas: (1.0, 0.999)) }.contains("beta1 must be in [0, 1)"))
        XCTAssertTrue(message { _ = try Adam.adamW(p, betas: (0.9, -0.1)) }.contains("beta2"))
        var args = TrainingArguments.noSaving
        XCTAssertTrue(message { try args.set("optim", "adamax") }.contains("unknown value 'adamax'"))
        XCTAssertTrue(message { try args.set("lr_scheduler_type", "cosine_annealing") }.contains("cosine_with_restarts"))
        var ddp = TrainingArguments.noSaving
        try ddp.set("ddp_timeout", "-1")
        XCTAssertTrue(message { try ddp.validate() }.contains("ddp_timeout must be a number of seconds >= 0"))
        try ddp.set("ddp_timeout", "None")
        try ddp.set("ddp_bucket_cap_mb", "25")
        XCTAssertEqual(ddp.ddpTimeout, 1800)
        XCTAssertEqual(ddp.ddpBucketFloats, 25 << 18)  // 25 MB of float32
        try ddp.set("ddp_bucket_cap_mb", "None")
        XCTAssertEqual(ddp.ddpBucketFloats, 1 << 20)  // HF's None: 4 MB
        args.warmupSteps = 500
        args.maxSteps = 100
        XCTAssertTrue(message { _ = try args.resolvedWarmup(total: 100) }.contains("not shorter than the 100 training steps"))
        XCTAssertTrue(message {
            _ = try LRSchedule.make(.cosine, warmup: 0, total: 10, kwargs: "num_cycle=2", initialLR: 1e-3)
        }.contains("unknown key(s) num_cycle"))
        XCTAssertTrue(message {
            _ = try Optimizer.make(.sgd, groups: [ParameterGroup(p, learningRate: 0.1)], beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
                                   sgdMomentum: 0, optimArgs: "nesterov=true")
        }.contains("nesterov needs momentum > 0"))
    }

    func testMomentumScheduleIsInvertedTriangular() throws {
        let s = try MomentumSchedule.make(kwargs: "cool_down=2,warm_up=2,ratio=10")
        let values = (0..<6).map { s.momentum(base: 0.9, epoch: $0) }
        let expected = [0.9, 0.495, 0.09, 0.495, 0.9, 0.9]
        for (v, e) in zip(values, expected) { XCTAssertEqual(v, e, accuracy: 1e-12) }
    }
}
