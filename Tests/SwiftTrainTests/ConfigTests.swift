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

    /// {"type": "digits"} reads the shipped CSV files by name, the same data as the "csv" type
    /// with the digits' scale; a wrong split or key is named.
    func testTheShippedDigitsByName() throws {
        let byName = try config("""
            {"model": {"type": "sequential", "layers": [{"type": "linear", "in_features": 64, "out_features": 10}]},
             "train_data": {"type": "digits", "split": "test", "directory": "\(ConfigTests.root)/data/digits"}}
            """)
        let byPath = try config(mlp.replacingOccurrences(of: "train.csv", with: "test.csv"))
        let (a, b) = (try XCTUnwrap(byName.trainer.trainDataset as? Dataset), try XCTUnwrap(byPath.trainer.trainDataset as? Dataset))
        XCTAssertEqual(a.numSamples, 359)
        XCTAssertEqual(try a.batch(indices: [0, 1, 358]).tensors.map(\.values), try b.batch(indices: [0, 1, 358]).tensors.map(\.values))
        XCTAssertThrowsError(try config(#"{"model": {"type": "linear", "in_features": 64, "out_features": 10}, "train_data": {"type": "digits", "split": "valid"}}"#)) {
            XCTAssertTrue("\($0)".contains("train_data.split: expected \"train\" or \"test\""), "\($0)")
        }
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
            // a layer's own checks, at its path; sizes a host could not allocate are refused
            (#"{"model": {"layers": [{"type": "linear", "in_features": 0, "out_features": 3}]}}"#, "config: model.layers[0]:"),
            (#"{"model": {"layers": [{"type": "linear", "in_features": 4611686018427387904, "out_features": 3}]}}"#,
             "at most 2^28 weights"),
            (#"{"model": {"layers": [{"type": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3, "padding": 4611686018427387904}]}}"#,
             "padding in [0, 4096]"),
            (#"{"model": {"layers": [{"type": "dropout", "p": 2}]}}"#, "config: model.layers[0]:"),
        ]
        for (override, message) in cases {
            XCTAssertThrowsError(try Experiment(text: mlp, overrides: override), override) {
                XCTAssertTrue("\($0)".contains(message), "\(override): \($0)")
            }
        }
    }

    func testSequenceLayersTakeTokenIdsAsFloatFeatures() throws {
        let e = try Experiment(text: mlp, overrides: """
            {"model": {"type": "sequential", "layers": [{"type": "embedding", "num_embeddings": 17, "embedding_dim": 8},
             {"type": "transformer_encoder_layer", "d_model": 8, "nhead": 2, "dim_feedforward": 16, "batch_first": true},
             {"type": "flatten"}, {"type": "linear", "in_features": 512, "out_features": 10}]}}
            """)
        XCTAssertTrue(e.model.description.contains("Embedding(17, 8)"), e.model.description)
        // the digits' pixels (0-16, scaled back to whole numbers) as 64 tokens
        let tokens = try Experiment(text: e.config.serialized(), overrides: #"{"train_data": {"feature_scale": 1}}"#)
        try tokens.trainer.train()
        XCTAssertEqual(tokens.trainer.state.globalStep, 30)
        XCTAssertThrowsError(try e.trainer.train()) { XCTAssertTrue("\($0)".contains("is not a token id"), "\($0)") }
        XCTAssertThrowsError(try Experiment(text: mlp, overrides: #"{"model": {"type": "embedding", "num_embeddings": 0, "embedding_dim": 3}}"#)) {
            XCTAssertTrue("\($0)".contains("config: model:"), "\($0)")
        }
    }

    /// Labels that are not class indices (fractions, infinities, beyond Int64) are refused, not
    /// trapped on.
    func testCSVLabelsThatAreNotClassIndicesAreRefused() throws {
        let dir = try CheckpointResumeTests.temporaryDirectory()
        for label in ["inf", "1e19", "2.5", "-1", "nan"] {
            let path = dir + "/bad.csv"
            try "1,2,3\n4,5,\(label)\n".write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try Experiment(text: mlp, overrides: #"{"train_data": {"path": "\#(path)"}}"#), label) {
                XCTAssertTrue("\($0)".contains("config: train_data.path"), "\(label): \($0)")
            }
        }
    }
}
