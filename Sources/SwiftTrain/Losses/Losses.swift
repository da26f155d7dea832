import Glibc

/// How a loss combines its per-element values (PyTorch's `reduction`).
public enum Reduction: Int32, Sendable, CaseIterable {
    case none = 0, mean = 1, sum = 2
    /// Sum divided by the batch size (first dimension): kl_div only.
    case batchMean = 3

    /// The names, as torch's `reduction=` arguments; `init(name:)` and the C API's
    /// st_enum_from_name / st_enum_names ("reduction") read this table.
    public static let names: [(String, Reduction)] = [("none", .none), ("mean", .mean), ("sum", .sum), ("batchmean", .batchMean)]

    public init(name: String) throws {
        guard let hit = Self.names.first(where: { $0.0 == name }) else {
            throw SwiftTrainError.invalid("unknown reduction '\(name)'; choose none, mean or sum (batchmean for kl_div)")
        }
        self = hit.1
    }
}

func reduce(_ loss: Tensor, _ reduction: Reduction, _ op: String) throws -> Tensor {
    switch reduction {
    case .none: return loss
    case .sum: return try loss.sum()
    case .mean: return try loss.mean()
    case .batchMean:
        throw SwiftTrainError.invalid("\(op): reduction 'batchmean' is only for kl_div; use none, mean or sum")
    }
}

/// Checks a regression loss's operands, naming the loss in the error.
private func difference(_ input: Tensor, _ target: Tensor, _ op: String) throws -> Tensor {
    try input.requireFloat(op)
    guard target.dtype == .float32 else {
        throw SwiftTrainError(.invalidArgument, "\(op): target must be float32, got \(target.dtype)")
    }
    guard input.shape == target.shape || (try? Broadcast.shape(input.shape, target.shape, op: op)) != nil else {
        throw SwiftTrainError.shape("\(op): input shape \(input.shape) and target shape \(target.shape) do not match")
    }
    return try input - target
}

/// Mean squared error (torch.nn.functional.mse_loss).
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = LayerDefaults.mseLoss.reduction) throws -> Tensor {
    let d = try difference(input, target, "mse_loss")
    return try reduce(try d * d, reduction, "mse_loss")
}

/// Mean absolute error (torch.nn.functional.l1_loss).
public func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = LayerDefaults.l1Loss.reduction) throws -> Tensor {
    try reduce(try (try difference(input, target, "l1_loss")).abs(), reduction, "l1_loss")
}

/// torch.nn.functional.smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere.
public func smoothL1Loss(_ input: Tensor, _ target: Tensor, beta: Float = LayerDefaults.smoothL1Loss.beta,
                         reduction: Reduction = LayerDefaults.smoothL1Loss.reduction) throws -> Tensor {
    guard beta >= 0 else { throw SwiftTrainError.invalid("smooth_l1_loss: beta must be >= 0, got \(beta)") }
    guard beta > 0 else { return try l1Loss(input, target, reduction: reduction) }
    let ad = try (try difference(input, target, "smooth_l1_loss")).abs()
    let quadratic = try (try ad * ad) * (0.5 / beta), linear = try ad - 0.5 * beta
    return try reduce(try `where`(try ad.compare(.lt, beta), quadratic, linear), reduction, "smooth_l1_loss")
}

/// torch.nn.functional.huber_loss: 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere.
public func huberLoss(_ input: Tensor, _ target: Tensor, delta: Float = LayerDefaults.huberLoss.delta,
                      reduction: Reduction = LayerDefaults.huberLoss.reduction) throws -> Tensor {
    guard delta > 0 else { throw SwiftTrainError.invalid("huber_loss: delta must be positive, got \(delta)") }
    let ad = try (try difference(input, target, "huber_loss")).abs()
    let quadratic = try (try ad * ad) * 0.5, linear = try (try ad - 0.5 * delta) * delta
    return try reduce(try `where`(try ad.compare(.lt, delta), quadratic, linear), reduction, "huber_loss")
}

/// Moves the class dimension (1) of [N, C, d1, ...] last and flattens to [M, C]; [C] (one
/// sample) becomes [1, C]. Returns the flat input, the flat target and the target's shape.
private func flattenClasses(_ input: Tensor, _ target: Tensor, _ op: String) throws -> (Tensor, Tensor, [Int]) {
    guard target.dtype == .int64 else {
        throw SwiftTrainError(.invalidArgument, "\(op): target must hold int64 class indices, got \(target.dtype)")
    }
    try input.requireFloat(op)
    if input.rank == 1 {
        guard target.rank == 0 else { throw SwiftTrainError.shape("\(op): input \(input.shape) needs a scalar target, got \(target.shape)") }
        return (try input.reshapedView([1, input.count]), try target.reshapedView([1]), [])
    }
    guard input.rank >= 2, target.shape == [input.shape[0]] + Array(input.shape.dropFirst(2)) else {
        throw SwiftTrainError.shape("\(op): input shape \(input.shape) needs target shape "
            + "\(input.rank >= 2 ? [input.shape[0]] + Array(input.shape.dropFirst(2)) : []), got \(target.shape)")
    }
    let classes = input.shape[1]
    let moved = input.rank == 2 ? input : try input.permute([0] + Array(2..<input.rank) + [1])
    return (try moved.reshapedView([moved.count / Swift.max(classes, 1), classes]), try target.reshapedView([target.count]), target.shape)
}

/// torch.nn.functional.nll_loss on log-probabilities [N, C, ...] with int64 targets.
public func nllLoss(_ input: Tensor, target: Tensor, weight: Tensor? = nil, ignoreIndex: Int = LayerDefaults.nllLoss.ignoreIndex,
                    reduction: Reduction = LayerDefaults.nllLoss.reduction) throws -> Tensor {
    let (logp, t, targetShape) = try flattenClasses(input, target, "nll_loss")
    return try NLL.loss(logp, t, targetShape: targetShape, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction, op: "nll_loss")
}

/// torch.nn.functional.cross_entropy on logits [N, C, ...] with int64 class targets, with
/// class weights, ignore_index and label smoothing.
public func crossEntropy(_ input: Tensor, target: Tensor, weight: Tensor? = nil,
                         ignoreIndex: Int = LayerDefaults.crossEntropy.ignoreIndex,
                         reduction: Reduction = LayerDefaults.crossEntropy.reduction,
                         labelSmoothing: Float = LayerDefaults.crossEntropy.labelSmoothing) throws -> Tensor {
    guard labelSmoothing >= 0, labelSmoothing <= 1 else {
        throw SwiftTrainError.invalid("cross_entropy: label_smoothing must be in [0, 1], got \(labelSmoothing)")
    }
    let (logits, t, targetShape) = try flattenClasses(input, target, "cross_entropy")
    if weight == nil && labelSmoothing == 0 && reduction == .mean {
        return try NLL.fusedMeanCrossEntropy(logits, t, ignoreIndex: ignoreIndex)
    }
    let logp = try logits.logSoftmax(dim: 1)
    let nll = try NLL.loss(logp, t, targetShape: targetShape, weight: weight, ignoreIndex: ignoreIndex,
                           reduction: reduction, op: "cross_entropy")
    guard labelSmoothing > 0 else { return nll }
    let classes = logits.shape[1]
    let kept = try Tensor(shape: [t.count], values: t.int64Values.map { $0 == Int64(ignoreIndex) ? 0 : 1 })
    var weighted = logp
    if let weight { weighted = try logp * weight }
    var smooth = try -(try weighted.sum(dims: [1])) * kept
    switch reduction {
    case .none: smooth = try smooth.reshapedView(targetShape)
    case .sum: smooth = try smooth.sum()
    case .mean:
        let denominator: Float
        if let weight {
            denominator = zip(t.int64Values, kept.values).reduce(0) { $0 + ($1.1 == 0 ? 0 : weight.data[Int($1.0)]) }
        } else {
            denominator = kept.values.reduce(0, +)
        }
        smooth = try smooth.sum() / denominator
    case .batchMean:
        throw SwiftTrainError.invalid("cross_entropy: reduction 'batchmean' is only for kl_div")
    }
    return try (try nll * (1 - labelSmoothing)) + (try smooth * (labelSmoothing / Float(classes)))
}

enum NLL {
    /// Checks targets: each in [0, classes) or equal to ignoreIndex.
    static func check(_ t: Tensor, classes: Int, ignoreIndex: Int, op: String) throws {
        try check(t.int64Data, count: t.count, classes: classes, ignoreIndex: ignoreIndex, op: op)
    }

    static func check(_ ix: UnsafePointer<Int64>, count: Int, classes: Int, ignoreIndex: Int, op: String) throws {
        for i in 0..<count where ix[i] != Int64(ignoreIndex) && (ix[i] < 0 || ix[i] >= classes) {
            throw SwiftTrainError.invalid("\(op): target \(ix[i]) at position \(i) is outside [0, \(classes)) "
                + "(and is not ignore_index \(ignoreIndex))")
        }
    }

    static func loss(_ logp: Tensor, _ t: Tensor, targetShape: [Int], weight: Tensor?, ignoreIndex: Int,
                     reduction: Reduction, op: String) throws -> Tensor {
        let (rows, classes) = (logp.shape[0], logp.shape[1])
        try check(t, classes: classes, ignoreIndex: ignoreIndex, op: op)
        if let weight, weight.shape != [classes] || weight.dtype != .float32 {
            throw SwiftTrainError.shape("\(op): weight must be a float32 tensor of shape [\(classes)], got \(weight.dtype) \(weight.shape)")
        }
        guard reduction != .batchMean else { throw SwiftTrainError.invalid("\(op): reduction 'batchmean' is only for kl_div") }
        let ix = t.int64Data, x = logp.data
        var rowWeights = [Float](repeating: 0, count: rows)
        var perRow = [Float](repeating: 0, count: rows)
        for i in 0..<rows where ix[i] != Int64(ignoreIndex) {
            let c = Int(ix[i]), w = weight?.data[c] ?? 1
            rowWeights[i] = w
            perRow[i] = -w * x[i * classes + c]
        }
        let out: Tensor
        var scale: [Float]  // d(out)/d(-w logp) per row, times the output gradient index
        switch reduction {
        case .none:
            out = try Tensor(shape: targetShape, values: perRow)
            scale = rowWeights
        case .sum:
            out = try Tensor.full([], perRow.reduce(0, +))
            scale = rowWeights
        default:
            let total = rowWeights.reduce(0, +)
            out = try Tensor.full([], perRow.reduce(0, +) / total)
            scale = rowWeights.map { $0 / total }
        }
        record(out, logp) { NLLNode(input: logp, target: t, scale: scale, ignoreIndex: ignoreIndex, perRow: reduction == .none) }
        return out
    }

    /// Mean softmax cross-entropy without weights or smoothing in one pass.
    static func fusedMeanCrossEntropy(_ logits: Tensor, _ t: Tensor, ignoreIndex: Int) throws -> Tensor {
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        try check(t, classes: classes, ignoreIndex: ignoreIndex, op: "cross_entropy")
        let probabilities = Storage(count: logits.count)
        let ix = t.int64Data, x = logits.data, p = probabilities.base
        SoftmaxKernel.forward(x, p, outer: rows, n: classes, inner: 1, log: true)  // log-probabilities
        var total: Double = 0, kept = 0
        for i in 0..<rows where ix[i] != Int64(ignoreIndex) {
            total -= Double(p[i * classes + Int(ix[i])])
            kept += 1
        }
        let out = try Tensor.full([], Float(total / Double(kept)))
        record(out, logits) {
            for i in 0..<(rows * classes) { p[i] = expf(p[i]) }
            return SoftmaxCrossEntropyNode(logits: logits, target: t, probabilities: probabilities,
                                           ignoreIndex: ignoreIndex, kept: kept)
        }
        return out
    }
}

final class NLLNode: GradNode {
    let input: Tensor, target: Tensor, scale: [Float], ignoreIndex: Int, perRow: Bool
    init(input: Tensor, target: Tensor, scale: [Float], ignoreIndex: Int, perRow: Bool) {
        self.input = input; self.target = target; self.scale = scale; self.ignoreIndex = ignoreIndex; self.perRow = perRow
    }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (rows, classes) = (input.shape[0], input.shape[1]), ix = target.int64Data
        input.accumulateGrad { dx, beta in
            if beta == 0 { dx.update(repeating: 0, count: input.count) }
            for i in 0..<rows where ix[i] != Int64(ignoreIndex) {
                dx[i * classes + Int(ix[i])] -= scale[i] * (perRow ? g[i] : g[0])
            }
        }
    }
}

final class SoftmaxCrossEntropyNode: GradNode {
    let logits: Tensor, target: Tensor, probabilities: Storage, ignoreIndex: Int, kept: Int
    init(logits: Tensor, target: Tensor, probabilities: Storage, ignoreIndex: Int, kept: Int) {
        self.logits = logits; self.target = target; self.probabilities = probabilities; self.ignoreIndex = ignoreIndex; self.kept = kept
    }
    func forEachInput(_ body: (Tensor) -> Void) { body(logits) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (rows, classes) = (logits.shape[0], logits.shape[1]), ix = target.int64Data, p = probabilities.base
        let scale = g[0] / Float(Swift.max(kept, 1))
        logits.accumulateGrad { dl, beta in  // (softmax - onehot) * g / kept, zero for ignored rows
            for i in 0..<rows {
                let ignored = ix[i] == Int64(ignoreIndex)
                for c in 0..<classes {
                    let v = ignored ? 0 : scale * p[i * classes + c]
                    dl[i * classes + c] = beta == 0 ? v : dl[i * classes + c] + v
                }
                if !ignored { dl[i * classes + Int(ix[i])] -= scale }
            }
        }
    }
}

/// torch.nn.functional.binary_cross_entropy_with_logits, stable for extreme logits:
/// (1 - t) x + (1 + (pos_weight - 1) t) (log(1 + exp(-|x|)) + max(-x, 0)), times weight.
public func binaryCrossEntropyWithLogits(_ input: Tensor, _ target: Tensor, weight: Tensor? = nil,
                                         posWeight: Tensor? = nil,
                                         reduction: Reduction = LayerDefaults.binaryCrossEntropyWithLogits.reduction) throws -> Tensor {
    let op = "binary_cross_entropy_with_logits"
    try input.requireFloat(op)
    try target.requireFloat(op)
    guard input.shape == target.shape else {
        throw SwiftTrainError.shape("\(op): target shape \(target.shape) must equal input shape \(input.shape)")
    }
    func expanded(_ t: Tensor?, _ name: String) throws -> Storage? {
        guard let t else { return nil }
        try t.requireFloat(op)
        _ = try Broadcast.shape(t.shape, input.shape, op: "\(op) (\(name))")
        guard try Broadcast.shape(t.shape, input.shape, op: op) == input.shape else {
            throw SwiftTrainError.shape("\(op): \(name) shape \(t.shape) must broadcast to input shape \(input.shape)")
        }
        let s = Storage(count: input.count)
        broadcastCopy(t.data, t.shape, into: s.base, input.shape)
        return s
    }
    let w = try expanded(weight, "weight"), pw = try expanded(posWeight, "pos_weight")
    let out = Tensor(uninitialized: input.shape)
    let x = input.data, t = target.data
    for i in 0..<input.count {
        let l = 1 + ((pw?.base[i] ?? 1) - 1) * t[i]
        let softplusNeg = log1pf(expf(-Swift.abs(x[i]))) + Swift.max(-x[i], 0)
        out.data[i] = ((1 - t[i]) * x[i] + l * softplusNeg) * (w?.base[i] ?? 1)
    }
    record(out, input, target) { BCEWithLogitsNode(input: input, target: target, weight: w, posWeight: pw) }
    return try reduce(out, reduction, op)
}

final class BCEWithLogitsNode: GradNode {
    let input: Tensor, target: Tensor, weight: Storage?, posWeight: Storage?
    init(input: Tensor, target: Tensor, weight: Storage?, posWeight: Storage?) {
        self.input = input; self.target = target; self.weight = weight; self.posWeight = posWeight
    }
    func forEachInput(_ body: (Tensor) -> Void) { body(input); body(target) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let x = input.data, t = target.data, n = input.count
        input.accumulateGrad { dx, beta in
            for i in 0..<n {
                let pw = posWeight?.base[i] ?? 1, l = 1 + (pw - 1) * t[i]
                let sigmoid = x[i] >= 0 ? 1 / (1 + expf(-x[i])) : expf(x[i]) / (1 + expf(x[i]))
                let v = g[i] * (weight?.base[i] ?? 1) * ((1 - t[i]) - l * (1 - sigmoid))
                dx[i] = beta == 0 ? v : dx[i] + v
            }
        }
        target.accumulateGrad { dt, beta in
            for i in 0..<n {
                let pw = posWeight?.base[i] ?? 1
                let softplusNeg = log1pf(expf(-Swift.abs(x[i]))) + Swift.max(-x[i], 0)
                let v = g[i] * (weight?.base[i] ?? 1) * (-x[i] + (pw - 1) * softplusNeg)
                dt[i] = beta == 0 ? v : dt[i] + v
            }
        }
    }
}

/// torch.nn.functional.kl_div(input, target): input holds log-probabilities; target holds
/// probabilities (log-probabilities when `logTarget`). Pointwise target (log target - input).
public func klDiv(_ input: Tensor, _ target: Tensor, reduction: Reduction = LayerDefaults.klDiv.reduction,
                  logTarget: Bool = LayerDefaults.klDiv.logTarget) throws -> Tensor {
    let op = "kl_div"
    try input.requireFloat(op)
    try target.requireFloat(op)
    guard input.shape == target.shape else {
        throw SwiftTrainError.shape("\(op): target shape \(target.shape) must equal input shape \(input.shape)")
    }
    let out = Tensor(uninitialized: input.shape)
    let x = input.data, t = target.data
    for i in 0..<input.count {
        out.data[i] = logTarget ? expf(t[i]) * (t[i] - x[i]) : (t[i] > 0 ? t[i] * (logf(t[i]) - x[i]) : (t[i] == 0 ? 0 : .nan))
    }
    record(out, input, target) { KLDivNode(input: input, target: target, logTarget: logTarget) }
    if reduction == .batchMean {
        return try out.sum() / Float(input.rank > 0 ? input.shape[0] : 1)
    }
    return try reduce(out, reduction, op)
}

final class KLDivNode: GradNode {
    let input: Tensor, target: Tensor, logTarget: Bool
    init(input: Tensor, target: Tensor, logTarget: Bool) { self.input = input; self.target = target; self.logTarget = logTarget }
    func forEachInput(_ body: (Tensor) -> Void) { body(input); body(target) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let x = input.data, t = target.data, n = input.count, logTarget = self.logTarget
        input.accumulateGrad { dx, beta in
            for i in 0..<n {
                let v = -g[i] * (logTarget ? expf(t[i]) : t[i])
                dx[i] = beta == 0 ? v : dx[i] + v
            }
        }
        target.accumulateGrad { dt, beta in
            for i in 0..<n {
                let v = logTarget ? g[i] * expf(t[i]) * (t[i] - x[i] + 1) : (t[i] > 0 ? g[i] * (logf(t[i]) + 1 - x[i]) : 0)
                dt[i] = beta == 0 ? v : dt[i] + v
            }
        }
    }
}
