import Foundation
import XCTest
@testable import SwiftTrain

/// Every layer against PyTorch (Tests/fixtures/torch/layers.json): parameters loaded by
/// state-dict name, then outputs, input and parameter gradients, and updated buffers.
final class TorchLayerTests: XCTestCase {
    func testLayersMatchPyTorch() throws {
        let cases = try TorchFixtures.cases("layers")
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let name = c["name"] as! String
            do { try runCase(c) } catch { XCTFail("layers/\(name): \(error)") }
        }
    }

    /// The pooling modules honour ceil_mode (and AvgPool2d count_include_pad and
    /// divisor_override) as the functional forms do: on a 5x5 input a 2x2 window with stride 2
    /// gives 3x3 with ceil_mode, 2x2 without.
    func testPoolModulesHonourCeilModeAsTheFunctional() throws {
        let x = try Tensor(shape: [1, 1, 5, 5], values: (0..<25).map { Float(($0 * 7) % 11) - 5 })
        let maxPool = MaxPool2d(2, ceilMode: true)
        XCTAssertTrue(maxPool.ceilMode)
        let maxOut = try maxPool.forward(x)
        let maxExpected = try x.maxPool2d(kernel: (2, 2), ceilMode: true)
        XCTAssertEqual(maxOut.shape, [1, 1, 3, 3])
        XCTAssertEqual(maxOut.shape, maxExpected.shape)
        XCTAssertEqual(maxOut.values, maxExpected.values)
        XCTAssertEqual(try MaxPool2d(2).forward(x).shape, [1, 1, 2, 2])
        XCTAssertFalse(MaxPool2d(2).ceilMode)

        for (includePad, divisor) in [(true, nil), (false, nil), (true, 3)] as [(Bool, Int?)] {
            let avgPool = AvgPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true,
                                    countIncludePad: includePad, divisorOverride: divisor)
            let avgOut = try avgPool.forward(x)
            let avgExpected = try x.avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true,
                                              countIncludePad: includePad, divisorOverride: divisor)
            XCTAssertEqual(avgOut.shape, avgExpected.shape, "\(includePad) \(String(describing: divisor))")
            XCTAssertEqual(avgOut.values, avgExpected.values, "\(includePad) \(String(describing: divisor))")
        }
        XCTAssertEqual(try AvgPool2d(2, ceilMode: true).forward(x).shape, [1, 1, 3, 3])
        XCTAssertEqual(try AvgPool2d(2).forward(x).shape, [1, 1, 2, 2])
    }

    static func makeModule(_ kind: String, _ config: [String: Any]) throws -> Module {
        func int(_ key: String) -> Int? { (config[key] as? NSNumber)?.intValue }
        func float(_ key: String, _ fallback: Float) -> Float { (config[key] as? NSNumber)?.floatValue ?? fallback }
        func bool(_ key: String, _ fallback: Bool) -> Bool { config[key] as? Bool ?? fallback }
        func pair(_ key: String, _ fallback: (Int, Int)) -> (Int, Int) { TorchFixtures.pair(config[key], fallback) }
        switch kind {
        case "Linear": return try Linear(int("in_features")!, int("out_features")!, bias: bool("bias", true))
        case "Conv2d":
            return try Conv2d(int("in_channels")!, int("out_channels")!, kernelSize: pair("kernel_size", (1, 1)),
                              stride: pair("stride", (1, 1)), padding: pair("padding", (0, 0)),
                              dilation: pair("dilation", (1, 1)), groups: int("groups") ?? 1, bias: bool("bias", true))
        case "MaxPool2d":
            let k = pair("kernel_size", (1, 1))
            return MaxPool2d(kernelSize: k, stride: pair("stride", k), padding: pair("padding", (0, 0)),
                             dilation: pair("dilation", (1, 1)), ceilMode: bool("ceil_mode", false))
        case "AvgPool2d":
            let k = pair("kernel_size", (1, 1))
            return AvgPool2d(kernelSize: k, stride: pair("stride", k), padding: pair("padding", (0, 0)),
                             ceilMode: bool("ceil_mode", false), countIncludePad: bool("count_include_pad", true),
                             divisorOverride: int("divisor_override"))
        case "Flatten": return Flatten(startDim: int("start_dim") ?? 1, endDim: int("end_dim") ?? -1)
        case "Embedding": return try Embedding(int("num_embeddings")!, int("embedding_dim")!, paddingIndex: int("padding_idx"))
        case "LayerNorm":
            return try LayerNorm(TorchFixtures.ints(config["normalized_shape"])!, eps: float("eps", 1e-5),
                                 elementwiseAffine: bool("elementwise_affine", true))
        case "BatchNorm1d", "BatchNorm2d":
            let make = kind == "BatchNorm1d" ? BatchNorm.oneD : BatchNorm.twoD
            return try make(int("num_features")!, float("eps", 1e-5), float("momentum", 0.1), bool("affine", true),
                            bool("track_running_stats", true))
        case "ReLU": return ReLU()
        case "GELU": return try GELU(approximate: config["approximate"] as? String ?? "none")
        case "SiLU": return SiLU()
        case "Tanh": return Tanh()
        case "Sigmoid": return Sigmoid()
        case "LeakyReLU": return LeakyReLU(negativeSlope: float("negative_slope", 0.01))
        case "Softplus": return Softplus(beta: float("beta", 1), threshold: float("threshold", 20))
        case "Sequential":
            return try Sequential(try (config["modules"] as! [[String: Any]]).map {
                try makeModule($0["module"] as! String, $0["config"] as! [String: Any])
            })
        case "MultiheadAttention":
            return try MultiheadAttention(embedDim: int("embed_dim")!, numHeads: int("num_heads")!, dropout: float("dropout", 0),
                                          bias: bool("bias", true), batchFirst: bool("batch_first", false))
        case "TransformerEncoderLayer":
            return try TransformerEncoderLayer(dModel: int("d_model")!, nhead: int("nhead")!,
                                               dimFeedforward: int("dim_feedforward") ?? 2048, dropout: float("dropout", 0.1),
                                               activation: config["activation"] as? String ?? "relu",
                                               batchFirst: bool("batch_first", false), normFirst: bool("norm_first", false))
        default:
            throw SwiftTrainError(.notFound, "no mapping for torch module '\(kind)'")
        }
    }

    private func runCase(_ c: [String: Any]) throws {
        let name = c["name"] as! String
        let tolerance = (c["tolerance"] as? NSNumber)?.doubleValue ?? 1e-5
        let module = try Self.makeModule(c["module"] as! String, c["config"] as? [String: Any] ?? [:])
        let stateDict = try (c["state_dict"] as! [String: [String: Any]]).mapValues(TorchFixtures.tensor)
        try module.loadStateDict(stateDict)
        XCTAssertEqual(Set(module.stateDict().map(\.name)), Set(stateDict.keys), "\(name): state_dict keys")
        if c["mode"] as? String == "eval" { module.eval() } else { module.train() }
        let inputs = try (c["inputs"] as! [[String: Any]]).map(TorchFixtures.tensor)
        let kwargs = c["forward_kwargs"] as? [String: Any] ?? [:]
        var outputs: [Tensor]
        switch (module, c["forward"] as? String) {
        case let (attention as MultiheadAttention, "self_attention"):
            let x = inputs[0]
            let mask = try (kwargs["attn_mask"] as? [String: Any]).map(TorchFixtures.tensor)
            let needWeights = kwargs["need_weights"] as? Bool ?? true
            let r = try attention.attention(query: x, key: x, value: x, mask: mask, needWeights: needWeights,
                                            averageWeights: kwargs["average_attn_weights"] as? Bool ?? true)
            outputs = [r.output] + (r.weights.map { [$0] } ?? [])
        case let (layer as TransformerEncoderLayer, _):
            let mask = try (kwargs["src_mask"] as? [String: Any]).map(TorchFixtures.tensor)
            outputs = [try layer.forward(inputs[0], mask: mask)]
        default:
            outputs = [try module.forward(inputs[0])]
        }
        if let expected = c["output"] as? [String: Any] {
            TorchFixtures.assertClose(outputs[0], expected, tolerance: tolerance, "\(name) output")
        } else if let expected = c["outputs"] as? [Any] {
            for (i, e) in expected.enumerated() {
                guard let e = e as? [String: Any] else { continue }
                TorchFixtures.assertClose(outputs[i], e, tolerance: tolerance, "\(name) output \(i)")
            }
        }
        if let after = c["state_dict_after"] as? [String: [String: Any]] {
            let current = Dictionary(uniqueKeysWithValues: module.stateDict().map { ($0.name, $0.tensor) })
            for (key, spec) in after {
                guard let t = current[key] else { XCTFail("\(name): no buffer \(key) in \(current.keys.sorted())"); continue }
                TorchFixtures.assertClose(t, spec, tolerance: tolerance, "\(name) \(key) after")
            }
        }
        let upstream = (c["upstream"] as? [String: Any]) ?? (c["upstreams"] as! [Any])[0] as! [String: Any]
        let grads = c["grads"] as! [String: Any]
        let parameters = module.namedParameters
        try TorchFixtures.checkGradients(outputs: [outputs[0]], upstreams: [upstream], inputs: inputs + parameters.map(\.tensor),
                                         expected: (grads["input"] as? [Any] ?? []) + parameters.map {
                                             (grads["parameters"] as? [String: Any])?[$0.name] ?? NSNull()
                                         }, tolerance: tolerance, name: name)
    }
}
