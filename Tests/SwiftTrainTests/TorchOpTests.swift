import Foundation
import XCTest
@testable import SwiftTrain

/// Every op and loss against PyTorch (Tests/fixtures/torch): values and gradients.
final class TorchOpTests: XCTestCase {
    func testCreation() throws { try runGroup("creation") }
    func testElementwise() throws { try runGroup("elementwise") }
    func testReductions() throws { try runGroup("reductions") }
    func testShape() throws { try runGroup("shape") }
    func testMatmul() throws { try runGroup("matmul") }
    func testActivations() throws { try runGroup("activations") }
    /// NaN propagates through activations as in PyTorch (torch.relu(nan) is nan): a NaN input
    /// must show in the loss, not vanish behind a ReLU.
    func testActivationsPropagateNaN() throws {
        let x = try Tensor(shape: [3], values: [.nan, -1, 2])
        for y in [try x.relu(), try x.leakyRelu(), try x.gelu(), try x.silu(), try x.sigmoid(), try x.tanh()] {
            XCTAssertTrue(y.values[0].isNaN, "\(y.values)")
        }
    }
    func testNormalization() throws { try runGroup("normalization") }
    func testConvolutionAndPooling() throws { try runGroup("conv_pool") }
    func testAttention() throws { try runGroup("attention") }
    func testLosses() throws { try runGroup("losses") }

    private func runGroup(_ group: String) throws {
        let cases = try TorchFixtures.cases(group)
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let name = c["name"] as! String
            do { try runCase(c) } catch { XCTFail("\(group)/\(name): \(error)") }
        }
    }

    private func runCase(_ c: [String: Any]) throws {
        let name = c["name"] as! String, op = c["op"] as! String
        let tolerance = (c["tolerance"] as? NSNumber)?.doubleValue ?? 1e-5
        let specs = c["inputs"] as? [[String: Any]] ?? []
        let inputs = try specs.map(TorchFixtures.tensor)
        var byName: [String: Tensor] = [:]
        for (s, t) in zip(specs, inputs) { if let arg = s["arg"] as? String, byName[arg] == nil { byName[arg] = t } }
        var kwargs = c["kwargs"] as? [String: Any] ?? [:]
        kwargs["__output_dtype"] = (c["output"] as? [String: Any])?["dtype"]
        let outputs = try Self.run(op, inputs, byName, kwargs)
        if let expected = c["output"] as? [String: Any] {
            XCTAssertEqual(outputs.count, 1, name)
            TorchFixtures.assertClose(outputs[0], expected, tolerance: tolerance, "\(name) output")
        } else if let expected = c["outputs"] as? [[String: Any]] {
            XCTAssertEqual(outputs.count, expected.count, "\(name): number of outputs")
            for (i, (o, e)) in zip(outputs, expected).enumerated() {
                TorchFixtures.assertClose(o, e, tolerance: tolerance, "\(name) output \(i)")
            }
        }
        if let after = c["outputs_after"] as? [[String: Any]] {
            for spec in after {
                TorchFixtures.assertClose(byName[spec["arg"] as! String]!, spec, tolerance: tolerance, "\(name) \(spec["arg"]!) after")
            }
        }
        let upstreams = (c["upstreams"] as? [[String: Any]]) ?? ((c["upstream"] as? [String: Any]).map { [$0] } ?? [])
        if let grads = c["grads"] as? [Any], !upstreams.isEmpty {
            let floatOutputs = outputs.filter { $0.dtype == .float32 }
            try TorchFixtures.checkGradients(outputs: floatOutputs, upstreams: Array(upstreams.prefix(floatOutputs.count)),
                                             inputs: inputs, expected: grads, tolerance: tolerance, name: name)
        }
    }

    /// Runs torch op `op` with swifttrain. Inputs by position and by torch argument name.
    static func run(_ op: String, _ inputs: [Tensor], _ arg: [String: Tensor], _ kw: [String: Any]) throws -> [Tensor] {
        func float(_ key: String, _ fallback: Float) -> Float { (kw[key] as? NSNumber)?.floatValue ?? fallback }
        func int(_ key: String) -> Int? { (kw[key] as? NSNumber)?.intValue }
        func bool(_ key: String, _ fallback: Bool) -> Bool { (kw[key] as? Bool) ?? fallback }
        func reduction() throws -> Reduction { try Reduction(name: kw["reduction"] as? String ?? "mean") }
        let x = arg["input"] ?? inputs.first
        let other: Tensor? = arg["other"] ?? (kw["other"] as? NSNumber).map { try! Tensor.full([], $0.floatValue) }
        switch op {
        case "zeros": return [Tensor.zeros(TorchFixtures.ints(kw["size"])!)]
        case "ones": return [try Tensor.ones(TorchFixtures.ints(kw["size"])!)]
        case "full": return [try Tensor.full(TorchFixtures.ints(kw["size"])!, float("fill_value", 0))]
        case "arange":
            let isInt = kw["__output_dtype"] as? String == "int64"
            return [try Tensor.arange((kw["start"] as? NSNumber)?.doubleValue ?? 0, (kw["end"] as! NSNumber).doubleValue,
                                      step: (kw["step"] as? NSNumber)?.doubleValue ?? 1, dtype: isInt ? .int64 : .float32)]
        case "add": return [try x! + (try other! * float("alpha", 1))]
        case "sub": return [try x! - (try other! * float("alpha", 1))]
        case "mul": return [try x! * other!]
        case "div": return [try x! / other!]
        case "neg": return [try -x!]
        case "pow":
            if let e = arg["exponent"] { return [try x!.pow(e)] }
            return [try x!.pow(float("exponent", 1))]
        case "exp": return [try x!.exp()]
        case "log": return [try x!.log()]
        case "sqrt": return [try x!.sqrt()]
        case "rsqrt": return [try x!.rsqrt()]
        case "abs": return [try x!.abs()]
        case "clamp": return [try x!.clamp(min: (kw["min"] as? NSNumber)?.floatValue, max: (kw["max"] as? NSNumber)?.floatValue)]
        case "maximum": return [try x!.maximum(other!)]
        case "minimum": return [try x!.minimum(other!)]
        case "where": return [try `where`(arg["condition"]!, x!, other!)]
        case "eq", "ne", "lt", "le", "gt", "ge":
            let cmp: Comparison = ["eq": .eq, "ne": .ne, "lt": .lt, "le": .le, "gt": .gt, "ge": .ge][op]!
            return [try x!.compare(cmp, other!)]
        case "sum", "mean":
            let dims = TorchFixtures.ints(kw["dim"])
            return [op == "sum" ? try x!.sum(dims: dims, keepdim: bool("keepdim", false))
                                : try x!.mean(dims: dims, keepdim: bool("keepdim", false))]
        case "max", "min":
            guard let d = int("dim") else { return [op == "max" ? try x!.max() : try x!.min()] }
            let r = op == "max" ? try x!.max(dim: d, keepdim: bool("keepdim", false)) : try x!.min(dim: d, keepdim: bool("keepdim", false))
            return [r.values, r.indices]
        case "argmax": return [try x!.argmax(dim: int("dim"), keepdim: bool("keepdim", false))]
        case "var", "std":
            var correction = int("correction") ?? 1
            if let unbiased = kw["unbiased"] as? Bool { correction = unbiased ? 1 : 0 }
            let dims = TorchFixtures.ints(kw["dim"])
            return [op == "var" ? try x!.variance(dims: dims, correction: correction, keepdim: bool("keepdim", false))
                                : try x!.std(dims: dims, correction: correction, keepdim: bool("keepdim", false))]
        case "reshape": return [try x!.reshape(TorchFixtures.ints(kw["shape"])!)]
        case "view": return [try x!.reshape(TorchFixtures.ints(kw["size"])!)]
        case "transpose": return [try x!.transpose(int("dim0")!, int("dim1")!)]
        case "permute": return [try x!.permute(TorchFixtures.ints(kw["dims"])!)]
        case "squeeze": return [try x!.squeeze(dim: int("dim"))]
        case "unsqueeze": return [try x!.unsqueeze(dim: int("dim")!)]
        case "expand": return [try x!.expand(TorchFixtures.ints(kw["size"])!)]
        case "flatten": return [try x!.flatten(startDim: int("start_dim") ?? 0, endDim: int("end_dim") ?? -1)]
        case "cat": return [try cat(inputs, dim: int("dim") ?? 0)]
        case "stack": return [try stack(inputs, dim: int("dim") ?? 0)]
        case "split":
            let t = arg["tensor"]!
            if let size = kw["split_size_or_sections"] as? NSNumber { return try t.split(size: size.intValue, dim: int("dim") ?? 0) }
            return try t.split(sizes: TorchFixtures.ints(kw["split_size_or_sections"])!, dim: int("dim") ?? 0)
        case "chunk": return try x!.chunk(int("chunks")!, dim: int("dim") ?? 0)
        case "getitem":
            var t = x!, dim = 0
            for entry in kw["index"] as! [Any] {
                if let i = entry as? NSNumber {
                    t = try t.select(dim: dim, index: i.intValue)
                } else {
                    let s = entry as! [Any]
                    t = try t.slice(dim: dim, start: (s[0] as? NSNumber)?.intValue, end: (s[1] as? NSNumber)?.intValue,
                                    step: (s[2] as? NSNumber)?.intValue ?? 1)
                    dim += 1
                }
            }
            return [t]
        case "gather": return [try x!.gather(dim: int("dim")!, index: arg["index"]!)]
        case "index_select": return [try x!.indexSelect(dim: int("dim")!, index: arg["index"]!)]
        case "matmul": return [try x!.matmul(other!)]
        case "linear": return [try x!.linear(weight: arg["weight"]!, bias: arg["bias"])]
        case "relu": return [try x!.relu()]
        case "leaky_relu": return [try x!.leakyRelu(negativeSlope: float("negative_slope", 0.01))]
        case "gelu": return [try x!.gelu(approximateTanh: kw["approximate"] as? String == "tanh")]
        case "silu": return [try x!.silu()]
        case "tanh": return [try x!.tanh()]
        case "sigmoid": return [try x!.sigmoid()]
        case "softplus": return [try x!.softplus(beta: float("beta", 1), threshold: float("threshold", 20))]
        case "softmax": return [try x!.softmax(dim: int("dim")!)]
        case "log_softmax": return [try x!.logSoftmax(dim: int("dim")!)]
        case "layer_norm":
            return [try x!.layerNorm(normalizedShape: TorchFixtures.ints(kw["normalized_shape"])!, weight: arg["weight"],
                                     bias: arg["bias"], eps: float("eps", 1e-5))]
        case "embedding": return [try Tensor.embedding(x!, weight: arg["weight"]!, paddingIndex: int("padding_idx"))]
        case "batch_norm":
            return [try x!.batchNorm(runningMean: arg["running_mean"], runningVar: arg["running_var"], weight: arg["weight"],
                                     bias: arg["bias"], training: bool("training", false), momentum: float("momentum", 0.1),
                                     eps: float("eps", 1e-5))]
        case "conv2d":
            let options = Conv2dOptions(stride: TorchFixtures.pair(kw["stride"], (1, 1)), padding: TorchFixtures.pair(kw["padding"], (0, 0)),
                                        dilation: TorchFixtures.pair(kw["dilation"], (1, 1)), groups: int("groups") ?? 1)
            return [try x!.conv2d(weight: arg["weight"]!, bias: arg["bias"], options: options)]
        case "max_pool2d":
            let k = TorchFixtures.pair(kw["kernel_size"], (1, 1))
            return [try x!.maxPool2d(kernel: k, stride: TorchFixtures.pair(kw["stride"], k), padding: TorchFixtures.pair(kw["padding"], (0, 0)),
                                     dilation: TorchFixtures.pair(kw["dilation"], (1, 1)), ceilMode: bool("ceil_mode", false))]
        case "avg_pool2d":
            let k = TorchFixtures.pair(kw["kernel_size"], (1, 1))
            return [try x!.avgPool2d(kernel: k, stride: TorchFixtures.pair(kw["stride"], k), padding: TorchFixtures.pair(kw["padding"], (0, 0)),
                                     ceilMode: bool("ceil_mode", false), countIncludePad: bool("count_include_pad", true),
                                     divisorOverride: int("divisor_override"))]
        case "scaled_dot_product_attention":
            return [try Tensor.scaledDotProductAttention(query: arg["query"]!, key: arg["key"]!, value: arg["value"]!,
                                                         mask: arg["attn_mask"], isCausal: bool("is_causal", false),
                                                         scale: (kw["scale"] as? NSNumber)?.floatValue)]
        case "mse_loss": return [try mseLoss(x!, arg["target"]!, reduction: try reduction())]
        case "l1_loss": return [try l1Loss(x!, arg["target"]!, reduction: try reduction())]
        case "smooth_l1_loss": return [try smoothL1Loss(x!, arg["target"]!, beta: float("beta", 1), reduction: try reduction())]
        case "huber_loss": return [try huberLoss(x!, arg["target"]!, delta: float("delta", 1), reduction: try reduction())]
        case "cross_entropy":
            return [try crossEntropy(x!, target: arg["target"]!, weight: arg["weight"], ignoreIndex: int("ignore_index") ?? -100,
                                     reduction: try reduction(), labelSmoothing: float("label_smoothing", 0))]
        case "nll_loss":
            return [try nllLoss(x!, target: arg["target"]!, weight: arg["weight"], ignoreIndex: int("ignore_index") ?? -100,
                                reduction: try reduction())]
        case "binary_cross_entropy_with_logits":
            return [try binaryCrossEntropyWithLogits(x!, arg["target"]!, weight: arg["weight"], posWeight: arg["pos_weight"],
                                                     reduction: try reduction())]
        case "kl_div": return [try klDiv(x!, arg["target"]!, reduction: try reduction(), logTarget: bool("log_target", false))]
        default:
            throw SwiftTrainError(.notFound, "no mapping for torch op '\(op)'")
        }
    }
}
