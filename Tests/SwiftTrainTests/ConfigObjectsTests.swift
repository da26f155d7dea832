import XCTest
import Synchronization
@testable import SwiftTrain

/// The optimizer, schedule and callbacks of a config as objects (issue 14, AllenNLP style).
final class ConfigObjectsTests: XCTestCase {
    private func experiment(_ overrides: String, outputDir: String? = nil) throws -> Experiment {
        try Experiment(text: """
            {"model": {"type": "linear", "in_features": 64, "out_features": 10},
             "train_data": {"type": "csv", "path": "\(ConfigTests.root)/data/digits/train.csv", "feature_scale": 0.0625},
             "validation_data": {"type": "csv", "path": "\(ConfigTests.root)/data/digits/test.csv", "feature_scale": 0.0625},
             "trainer": {"max_steps": 20, "save_strategy": "no", "report_to": ["none"]}}
            """, overrides: overrides, outputDir: outputDir)
    }

    private func assertError(_ overrides: String, _ message: String, line: UInt = #line) {
        XCTAssertThrowsError(try experiment(overrides), line: line) {
            XCTAssertTrue("\($0)".contains(message), "\(overrides): \($0)", line: line)
        }
    }

    func testTheOptimizerAndScheduleObjectsBecomeTrainingArguments() throws {
        let e = try experiment("""
            {"optimizer": {"type": "adam", "lr": 0.002, "betas": [0.8, 0.98], "weight_decay": 0.01, "amsgrad": true, "eps": 0.001},
             "learning_rate_scheduler": {"type": "cosine", "warmup_steps": 5, "num_cycles": 0.25}}
            """)
        let a = e.trainer.args
        XCTAssertEqual(a.optim, .adam)
        XCTAssertEqual([a.learningRate, a.adamBeta1, a.adamBeta2, a.weightDecay], [0.002, 0.8, 0.98, 0.01])
        XCTAssertEqual(a.optimArgs, "amsgrad=true,eps=0.001")
        XCTAssertEqual(a.lrSchedulerType, .cosine)
        XCTAssertEqual(a.warmupSteps, 5)
        XCTAssertEqual(a.lrSchedulerKwargs, "num_cycles=0.25")
        try e.trainer.train()
        XCTAssertEqual(e.trainer.state.globalStep, 20)
        // the resolved config (config.json) reads back to the same arguments
        let again = try Experiment(config: e.resolvedConfig)
        XCTAssertEqual(again.trainer.args.json.serialized(), a.json.serialized())
    }

    func testBadOptimizerAndScheduleObjectsNameTheKeyPath() {
        assertError(#"{"optimizer": {"type": "adamw", "betas": [0.9, "high"]}}"#,
                    #"config: optimizer.betas[1]: expected a number, got a string ("high")"#)
        assertError(#"{"optimizer": {"type": "adamw", "betas": [0.9]}}"#, "config: optimizer.betas: expected [beta1, beta2]")
        assertError(#"{"optimizer": {"type": "adamx"}}"#, #"config: optimizer.type: unknown optimizer "adamx"; known: adamw"#)
        assertError(#"{"optimizer": {"type": "adam", "nesterov": true}}"#, "config: optimizer.nesterov: optim_args: unknown key(s) nesterov")
        assertError(#"{"optimizer": {"type": "sgd", "nesterov": "yes"}}"#, "config: optimizer.nesterov: ")
        assertError(#"{"optimizer": {"type": "sgd", "lr": 0.1}, "trainer": {"learning_rate": 0.2}}"#,
                    "config: optimizer.lr: sets learning_rate, which trainer.learning_rate sets too; keep one of them")
        assertError(#"{"optimizer": {"type": "sgd", "lr": -1}}"#, "config: optimizer.lr: learning_rate must be")
        assertError(#"{"learning_rate_scheduler": {"type": "cosine", "gamma": 0.5}}"#, "config: learning_rate_scheduler.gamma: lr_scheduler_kwargs: unknown key(s) gamma")
        assertError(#"{"learning_rate_scheduler": {"type": "cosinus"}}"#,
                    #"config: learning_rate_scheduler.type: unknown schedule "cosinus"; known: linear"#)
        assertError(#"{"learning_rate_scheduler": {"type": "linear", "warmup_steps": 3}, "trainer": {"warmup_steps": 4}}"#,
                    "learning_rate_scheduler.warmup_steps: sets warmup_steps, which trainer.warmup_steps sets too")
    }

    func testCallbacksComeFromTheRegistry() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        let e = try experiment("""
            {"callbacks": [{"type": "early_stopping", "early_stopping_patience": 2},
                           {"type": "metrics_logger", "path": "logs/metrics.csv"},
                           {"type": "terminate_on_nan"}, {"type": "tensorboard", "log_dir": "\(dir)/tb"}],
             "trainer": {"eval_strategy": "steps", "eval_steps": 10, "logging_steps": 10, "metric_for_best_model": "accuracy",
                         "report_to": null}}
            """, outputDir: dir)
        XCTAssertEqual(e.trainer.args.earlyStoppingPatience, 2)
        XCTAssertEqual(e.trainer.args.reportTo, ["tensorboard"])
        XCTAssertEqual(e.trainer.args.loggingDir, dir + "/tb")
        XCTAssertEqual(e.registeredCallbacks, ["callbacks[1]", "callbacks[2]"])
        XCTAssertFalse(e.hasProgressBar)
        try e.trainer.train()
        let csv = String(decoding: try Files.read(dir + "/logs/metrics.csv"), as: UTF8.self)
        XCTAssertTrue(csv.hasPrefix("step,loss,"), csv)
        XCTAssertTrue(csv.contains("\n20,"), csv)
        XCTAssertFalse(try Files.list(dir + "/tb").isEmpty)
        XCTAssertTrue(try experiment(#"{"callbacks": [{"type": "progress_bar"}]}"#).hasProgressBar)
    }

    func testBadCallbacksNameTheKeyPathAndWhatIsAccepted() {
        assertError(#"{"callbacks": [{"type": "early_stop"}]}"#,
                    #"config: callbacks[0].type: unknown callback type "early_stop"; known: early_stopping, metrics_logger"#)
        assertError(#"{"callbacks": [{"type": "terminate_on_nan"}, {"type": "early_stopping", "patience": 3}]}"#,
                    "config: callbacks[1].patience: unknown key; accepted here: type, early_stopping_patience, early_stopping_threshold")
        assertError(#"{"callbacks": [{"type": "early_stopping"}], "trainer": {"patience": 3}}"#,
                    "config: callbacks[0]: sets early_stopping_patience, which trainer.patience sets too")
        assertError(#"{"callbacks": [{"type": "tensorboard"}, {"type": "tensorboard"}], "trainer": {"report_to": null}}"#,
                    "config: callbacks[1]: sets report_to, which callbacks[0] sets too")
        assertError(#"{"callbacks": [{"type": "metrics_logger", "format": "xml"}]}"#,
                    #"config: callbacks[0].format: expected "jsonl" or "csv", got "xml""#)
        assertError(#"{"callbacks": {"type": "progress_bar"}}"#, "config: callbacks: expected a list of callbacks")
    }

    func testTheCallbackRegistryIsExtensibleFromSwift() throws {
        let steps = Mutex(0)
        ConfigRegistry.registerCallback("count_steps", keys: ["every"]) { o in
            let every = try o.int("every", 1)
            return ConfigCallback { trainer in
                trainer.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
                    if state.globalStep % every == 0 { steps.withLock { $0 += 1 } }
                }
            }
        }
        XCTAssertTrue(ConfigRegistry.callbackTypes.contains("count_steps"))
        let e = try experiment(#"{"callbacks": [{"type": "count_steps", "every": 5}]}"#)
        try e.trainer.train()
        XCTAssertEqual(steps.withLock { $0 }, 4)
    }
}
