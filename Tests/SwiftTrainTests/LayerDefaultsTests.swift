import XCTest
@testable import SwiftTrain

/// LayerDefaults, the one table of layer, functional and lr scheduler defaults (the
/// initialisers, ReduceLROnPlateau, the C API's st_layer_defaults and options _init functions
/// and, through them, the Python signatures read it): it holds PyTorch's values, the layers built without arguments take
/// them, and `entries` publishes every field under torch's argument name.
final class LayerDefaultsTests: XCTestCase {
    func testTableHoldsPyTorchsValues() {
        XCTAssertEqual(LayerDefaults.layerNorm, .init(eps: 1e-5, elementwiseAffine: true, bias: true))
        XCTAssertEqual(LayerDefaults.batchNorm, .init(eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, training: false))
        XCTAssertEqual(LayerDefaults.dropout, .init(p: 0.5, training: true))
        XCTAssertEqual(LayerDefaults.leakyRelu.negativeSlope, 0.01)
        XCTAssertEqual(LayerDefaults.softplus, .init(beta: 1, threshold: 20))
        XCTAssertEqual(LayerDefaults.multiheadAttention, .init(dropout: 0, bias: true, batchFirst: false))
        XCTAssertEqual(LayerDefaults.linear.bias, true)
        XCTAssertEqual(LayerDefaults.flatten, .init(startDim: 1, endDim: -1))
        XCTAssertEqual(LayerDefaults.conv2d, .init(stride: 1, padding: 0, dilation: 1, groups: 1, bias: true))
        XCTAssertEqual(LayerDefaults.transformerEncoderLayer, .init(
            dimFeedforward: 2048, dropout: 0.1, activation: .relu, layerNormEps: 1e-5, batchFirst: false, normFirst: false, bias: true))
        XCTAssertEqual(LayerDefaults.crossEntropy, .init(ignoreIndex: -100, reduction: .mean, labelSmoothing: 0))
        XCTAssertEqual(LayerDefaults.gelu.approximateTanh, false)
    }

    func testLayersBuiltWithoutArgumentsTakeTheTable() throws {
        XCTAssertEqual(try LayerNorm([4]).eps, LayerDefaults.layerNorm.eps)
        let bn = try BatchNorm.oneD(3)
        XCTAssertEqual(bn.eps, LayerDefaults.batchNorm.eps)
        XCTAssertEqual(bn.momentum, LayerDefaults.batchNorm.momentum)
        XCTAssertNotNil(bn.runningMean)
        XCTAssertEqual(try Dropout().p, LayerDefaults.dropout.p)
        XCTAssertEqual(LeakyReLU().description, "LeakyReLU(negative_slope=0.01)")
        XCTAssertEqual(Softplus().description, "Softplus(beta=1.0, threshold=20.0)")
        XCTAssertEqual(try GELU().description, "GELU(approximate='none')")
        let flatten = Flatten()
        XCTAssertEqual([flatten.startDim, flatten.endDim], [1, -1])
        XCTAssertNotNil(try Linear(2, 3).bias)
        XCTAssertEqual(try Conv2d(2, 4, kernelSize: 3).options, Conv2dOptions())
        XCTAssertEqual(Conv2dOptions().groups, LayerDefaults.conv2d.groups)
    }

    func testSchedulerDefaultsArePyTorchsAndTheCoresSchedulersTakeThem() throws {
        XCTAssertEqual(LayerDefaults.stepLR.gamma, 0.1)
        XCTAssertEqual(LayerDefaults.reduceLROnPlateau, .init(
            modeMax: false, factor: 0.1, patience: 10, threshold: 1e-4, thresholdModeAbs: false, cooldown: 0, minLr: 0, eps: 1e-8))
        let plateau = ReduceLROnPlateau()
        XCTAssertEqual(plateau.mode, .min)
        XCTAssertEqual(plateau.thresholdMode, .rel)
        let d = LayerDefaults.reduceLROnPlateau
        XCTAssertEqual([plateau.factor, plateau.threshold, plateau.minLR, plateau.eps], [d.factor, d.threshold, d.minLr, d.eps])
        XCTAssertEqual([plateau.patience, plateau.cooldown], [d.patience, d.cooldown])
        XCTAssertEqual(try ReduceLROnPlateau.make(kwargs: ""), plateau)  // the option list's defaults agree
        XCTAssertEqual(LRSchedule.step(stepSize: 2), .step(stepSize: 2, gamma: LayerDefaults.stepLR.gamma))
        XCTAssertEqual(try LRSchedule.make(.step, warmup: 0, total: 10, kwargs: "step_size=2", initialLR: 1),
                       .step(stepSize: 2))

        let entries = try XCTUnwrap(LayerDefaults.entries("reduce_lr_on_plateau"))
        XCTAssertEqual(entries.map(\.name), ["mode_max", "factor", "patience", "threshold", "threshold_mode_abs",
                                             "cooldown", "min_lr", "eps"])
        XCTAssertEqual(entries.map(\.value), [0, 0.1, 10, 1e-4, 0, 0, 0, 1e-8])
        XCTAssertEqual(LayerDefaults.entries("step_lr")?.map(\.name), ["gamma"])
        XCTAssertEqual(LayerDefaults.entries("step_lr")?.map(\.value), [0.1])
    }

    func testEntriesByTorchsNames() throws {
        let layerNorm = try XCTUnwrap(LayerDefaults.entries("layer_norm"))
        XCTAssertEqual(layerNorm.map(\.name), ["eps", "elementwise_affine", "bias"])
        XCTAssertEqual(layerNorm.map(\.value), [1e-5, 1, 1])  // the decimal 1e-5, not Float's expansion
        let batchNorm = try XCTUnwrap(LayerDefaults.entries("batch_norm"))
        XCTAssertEqual(batchNorm.first { $0.name == "momentum" }?.value, 0.1)
        XCTAssertEqual(batchNorm.first { $0.name == "track_running_stats" }?.value, 1)
        let transformer = try XCTUnwrap(LayerDefaults.entries("transformer_encoder_layer"))
        XCTAssertEqual(transformer.first { $0.name == "activation" }?.value, Double(ActivationKind.relu.rawValue))
        XCTAssertEqual(transformer.first { $0.name == "dim_feedforward" }?.value, 2048)
        XCTAssertEqual(LayerDefaults.entries("cross_entropy")?.first { $0.name == "reduction" }?.value,
                       Double(Reduction.mean.rawValue))
        XCTAssertEqual(LayerDefaults.entries("leaky_relu")?.map(\.name), ["negative_slope"])
        XCTAssertNil(LayerDefaults.entries("LayerNorm"))
        XCTAssertEqual(Set(LayerDefaults.names).count, LayerDefaults.names.count)
        for name in LayerDefaults.names {
            let entries = try XCTUnwrap(LayerDefaults.entries(name), name)
            XCTAssertFalse(entries.isEmpty, name)
            for e in entries {
                XCTAssertTrue(e.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(name).\(e.name)")
            }
        }
    }
}
