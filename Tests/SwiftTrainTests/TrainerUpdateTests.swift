import Foundation
import XCTest
import SwiftTrain

/// One optimizer update as the trainer runs it: grad_norm in the state and the logs,
/// clipping by norm and by value, the learning rate a step uses under warmup, FLOPs; and
/// the arguments the trainer refuses, each named.
final class TrainerUpdateTests: XCTestCase {
    typealias Flow = TrainerFlowTests

    /// The weights after one plain-SGD step at learning rate 1 from the same start, the
    /// trainer, and the weights before.
    private func oneSGDStep(_ configure: (inout TrainingArguments) -> Void) throws -> (before: [Float], after: [Float], Trainer) {
        let t = try Flow.trainer {
            $0.maxSteps = 1; $0.optim = .sgd; $0.learningRate = 1; $0.lrSchedulerType = .constant; $0.loggingSteps = 1
            configure(&$0)
        }
        let before = t.model.parameters.flatMap(\.values)
        try t.train()
        return (before, t.model.parameters.flatMap(\.values), t)
    }

    private func norm(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
    }

    func testGradNormIsTheNormBeforeClippingAndClippingBoundsTheUpdate() throws {
        // Without effective clipping, SGD at rate 1 moves the weights by the gradient itself.
        let (start, free, unclipped) = try oneSGDStep { $0.maxGradNorm = 1e6 }
        let gradientNorm = unclipped.state.gradNorm
        XCTAssertEqual(norm(free, start), gradientNorm, accuracy: gradientNorm * 1e-4)
        XCTAssertGreaterThan(gradientNorm, 0.05)
        // Clipped to 0.01: the step is 0.01 long, and the state reports the norm before clipping.
        let (start2, clippedWeights, clipped) = try oneSGDStep { $0.maxGradNorm = 0.01 }
        XCTAssertEqual(start2, start)
        XCTAssertEqual(clipped.state.gradNorm, gradientNorm, accuracy: gradientNorm * 1e-6)
        XCTAssertEqual(norm(clippedWeights, start), 0.01, accuracy: 1e-5)
        // the step's log carries it as grad_norm
        XCTAssertEqual(clipped.state.logHistory.first?["grad_norm"], clipped.state.gradNorm)
    }

    func testWithoutClippingGradNormIsNaNAndNotLogged() throws {
        let (_, _, t) = try oneSGDStep { $0.maxGradNorm = 0 }
        XCTAssertTrue(t.state.gradNorm.isNaN)
        let stepLog = try XCTUnwrap(t.state.logHistory.first)
        XCTAssertNotNil(stepLog["loss"])
        XCTAssertNil(stepLog["grad_norm"])
    }

    func testMaxGradValueClampsEveryGradientElement() throws {
        let (start, free, _) = try oneSGDStep { $0.maxGradNorm = 0 }
        let (_, clamped, _) = try oneSGDStep { $0.maxGradNorm = 0; $0.maxGradValue = 1e-3 }
        var atLimit = 0
        for ((s, f), c) in zip(zip(start, free), clamped) {
            let change = Double(c - s), unclamped = Double(f - s)
            XCTAssertLessThanOrEqual(abs(change), 1e-3 * (1 + 1e-3))
            if abs(unclamped) <= 9e-4 { XCTAssertEqual(change, unclamped, accuracy: 1e-6) }  // small ones unchanged
            if abs(abs(change) - 1e-3) < 1e-6 { atLimit += 1 }
        }
        XCTAssertGreaterThan(atLimit, 0)
    }

    func testWarmupRatioIsAShareOfMaxStepsAndTheFirstWarmupStepDoesNotMove() throws {
        let t = try Flow.trainer { $0.maxSteps = 40; $0.learningRate = 1e-3; $0.warmupRatio = 0.1; $0.optim = .sgd }
        var atBegin: Double?
        var rates: [Double] = []
        var firstStepMoved: Bool?
        let before = t.model.parameters.flatMap(\.values)
        t.addCallback(EventMask(.trainBegin)) { _, state, _, _ in atBegin = state.learningRate }
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
            rates.append(state.learningRate)
            if state.globalStep == 1 { firstStepMoved = t.model.parameters.flatMap(\.values) != before }
        }
        try t.train()
        // 4 warmup steps (10% of 40): step s uses rate s/4 before step 4, then decays linearly to 0
        XCTAssertEqual(atBegin, 0)
        XCTAssertEqual(firstStepMoved, false)  // HF: the first step of a warmup runs at rate 0
        let expected: [Double] = (1...40).map { (s: Int) -> Double in
            s < 4 ? 1e-3 * Double(s) / 4 : 1e-3 * Double(40 - s) / 36
        }
        for (i, (rate, e)) in zip(rates, expected).enumerated() { XCTAssertEqual(rate, e, accuracy: 1e-15, "after step \(i + 1)") }
        // warmup_steps wins over warmup_ratio, and may not reach the end
        var args = TrainingArguments.noSaving
        args.warmupSteps = 40
        XCTAssertThrowsError(try args.resolvedWarmup(total: 40))
        args.warmupSteps = 0.25
        XCTAssertEqual(try args.resolvedWarmup(total: 40), 10)
    }

    func testTotalFlosAreSixTimesParametersTimesSamples() throws {
        let t = try Flow.trainer { $0.maxSteps = 3 }
        var flos: [Double] = []
        t.addCallback(EventMask(.stepEnd)) { _, state, _, _ in flos.append(state.totalFlos) }
        try t.train()
        XCTAssertEqual(t.model.parameterCount, 4810)
        XCTAssertEqual(flos, [1, 2, 3].map { 6 * 4810 * 32 * Double($0) })
    }

    func testTheTrainerRefusesNonsenseArgumentsNamingThem() throws {
        let cases: [(String, (inout TrainingArguments) -> Void)] = [
            ("num_train_epochs", { $0.numTrainEpochs = 0 }),
            ("num_train_epochs", { $0.numTrainEpochs = .nan }),
            ("max_steps", { $0.maxSteps = 0 }),
            ("per_device_train_batch_size", { $0.perDeviceTrainBatchSize = 0 }),
            ("per_device_eval_batch_size", { $0.perDeviceEvalBatchSize = -1 }),
            ("gradient_accumulation_steps", { $0.gradientAccumulationSteps = 0 }),
            ("learning_rate", { $0.learningRate = .infinity }),
            ("weight_decay", { $0.weightDecay = -0.1 }),
            ("adam_beta1", { $0.adamBeta1 = 1 }),
            ("max_grad_norm", { $0.maxGradNorm = -1 }),
            ("max_grad_value", { $0.maxGradValue = .nan }),
            ("warmup_steps", { $0.warmupSteps = 1.5 }),
            ("warmup_ratio", { $0.warmupRatio = 1 }),
            ("ema_decay", { $0.emaDecay = 1 }),
            ("logging_steps", { $0.loggingSteps = 0 }),
            ("eval_steps", { $0.evalSteps = 2.5 }),
            ("save_steps", { $0.saveSteps = -5 }),
            ("save_total_limit", { $0.saveTotalLimit = -1 }),
            ("output_dir", { $0.saveStrategy = .steps; $0.outputDir = "" }),
            ("save_strategy", { $0.saveStrategy = .best }),
            ("load_best_model_at_end", { $0.loadBestModelAtEnd = true }),
            ("early_stopping_patience", { $0.earlyStoppingPatience = 2 }),
            ("early_stopping_threshold", { $0.earlyStoppingThreshold = -1 }),
            ("eval_delay", { $0.evalDelay = -1 }),
            ("data_seed", { $0.dataSeed = -2 }),
            ("label_smoothing_factor", { $0.labelSmoothingFactor = 1 }),
            ("label_names", { $0.labelNames = [] }),
            ("label_names", { $0.labelNames = ["a", "a"] }),
            ("optim_args", { $0.optimArgs = "momentum" }),
        ]
        for (name, change) in cases {
            var args = TrainingArguments.noSaving
            change(&args)
            XCTAssertThrowsError(try Trainer(model: try Linear(2, 2), args: args), name) {
                XCTAssertEqual(($0 as? SwiftTrainError)?.code, .invalidArgument, name)
                XCTAssertTrue(($0 as? SwiftTrainError)?.message.contains(name) ?? false, "\(name): \($0)")
            }
        }
        // max_steps makes num_train_epochs irrelevant (HF)
        var args = TrainingArguments.noSaving
        args.numTrainEpochs = 0
        args.maxSteps = 3
        XCTAssertNoThrow(try args.validate())
        // a value set by name that does not parse leaves the arguments as they were
        let before = args
        XCTAssertThrowsError(try args.set("learning_rate", "fast")) { XCTAssertTrue("\($0)".contains("learning_rate"), "\($0)") }
        XCTAssertThrowsError(try args.set("eval_strategy", "sometimes")) { XCTAssertTrue("\($0)".contains("eval_strategy"), "\($0)") }
        XCTAssertEqual(args, before)
    }
}
