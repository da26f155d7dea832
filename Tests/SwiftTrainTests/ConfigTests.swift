import XCTest
@testable import SwiftTrain

/// Experiments from a config (issue 14): built in the core, errors that name the key path.
final class ConfigTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    private func config(_ text: String) throws -> Experiment { try Experiment(text: text) }

    /// (the data's path absolute: the tests do not depend on the working directory)
    private let mlp = """
        {"model": {"type": "sequential", "layers": [{"type": "linear", "in_features": 64, "out_features": 10}]},
         "train_data": {"type": "csv", "path": "\(ConfigTests.root)/data/digits/train.csv", "feature_scale": 0.0625},
         "trainer": {"max_steps": 30, "save_strategy": "no", "learning_rate": 0.01, "report_to": ["none"]}}
        """

    func testAConfigBuildsAndTrainsTheModelItDescribes() throws {
        let e = try config(mlp)
        XCTAssertEqual(e.model.parameterCount, 64 * 10 + 10)
        XCTAssertEqual(e.trainer.args.learningRate, 0.01)
        XCTAssertEqual(e.trainDataset.count, 1438)
        try e.trainer.train()
        XCTAssertEqual(e.trainer.state.globalStep, 30)
        // describe's view: every argument with its default
        let resolved = e.resolvedConfig.objectValue!.first { $0.0 == "trainer" }!.1.objectValue!
        XCTAssertEqual(resolved.first { $0.0 == "adam_beta1" }?.1.doubleValue, 0.9)
    }

    func testOverridesMergeKeyByKey() throws {
        let e = try Experiment(text: mlp, overrides: #"{"trainer": {"max_steps": 5}}"#)
        XCTAssertEqual(e.trainer.args.maxSteps, 5)
        XCTAssertEqual(e.trainer.args.learningRate, 0.01)  // kept
    }

    func testBadConfigsNameTheKeyPath() throws {
        let cases: [(String, String)] = [
            (#"{"model": {"layers": [{"type": "linear", "in_features": 64, "out_features": "ten"}]}}"#,
             "model.layers[0].out_features: expected an integer, got a string (\"ten\")"),
            (#"{"model": {"type": "mlp"}}"#, "model.type: unknown layer type \"mlp\"; known: sequential, linear"),
            (#"{"train_data": {"label_column": 99}}"#,
             "train_data.label_column: 99 is not a column"),
            (#"{"trainer": {"optim": "adamm"}}"#, "trainer.optim:"),
            (#"{"trainer": {"betas": [0.9, 0.99]}}"#, "trainer.betas:"),
            (#"{"loss": "hinge"}"#, "loss: unknown loss \"hinge\""),
            (#"{"model": {"type": "sequential", "layers": [{"type": "relu", "inplace": true}]}}"#,
             "model.layers[0].inplace: unknown key"),
        ]
        for (override, message) in cases {
            XCTAssertThrowsError(try Experiment(text: mlp, overrides: override), override) {
                XCTAssertTrue("\($0)".contains(message), "\(override): \($0)")
            }
        }
    }
}
