/// The built-in losses a trainer applies to a model's logits and the batch's labels when the
/// model returns no loss of its own. Values match the C API's st_loss.
public enum LossKind: Int32, Sendable, CaseIterable {
    /// Softmax cross-entropy over int64 class labels; -100 is ignored (HF); HF's
    /// label_smoothing_factor applies.
    case crossEntropy = 0
    /// Mean squared error over float targets.
    case mse = 1
    /// Negative log-likelihood over log-probabilities and int64 labels (-100 ignored).
    case nll = 2
    /// Mean absolute error.
    case l1 = 3
    /// torch's smooth_l1_loss with beta 1.
    case smoothL1 = 4
    /// torch's huber_loss with delta 1.
    case huber = 5
    /// Binary cross-entropy on logits against float targets of the same shape (multi-label).
    case bceWithLogits = 6
    /// KL divergence of log-probability outputs from probability targets, "batchmean".
    case klDiv = 7

    /// The names, as torch's functions without "_loss": cross_entropy, mse, nll, l1,
    /// smooth_l1, huber, bce_with_logits, kl_div.
    public var name: String {
        switch self {
        case .crossEntropy: "cross_entropy"
        case .mse: "mse"
        case .nll: "nll"
        case .l1: "l1"
        case .smoothL1: "smooth_l1"
        case .huber: "huber"
        case .bceWithLogits: "bce_with_logits"
        case .klDiv: "kl_div"
        }
    }

    /// Every (name, kind), in the order of the values; `init(name:)` and the C API's
    /// st_loss_from_name / st_enum_from_name / st_enum_names ("loss") read this table.
    public static let names: [(String, LossKind)] = allCases.map { ($0.name, $0) }

    public init(name: String) throws {
        guard let hit = Self.names.first(where: { $0.0 == name }) else {
            throw SwiftTrainError.invalid("unknown loss '\(name)'; choose one of: \(Self.names.map(\.0).joined(separator: ", "))")
        }
        self = hit.1
    }

    /// Whether the labels are int64 class indices (else float targets).
    public var takesClassLabels: Bool { self == .crossEntropy || self == .nll }

    /// The label items a batch holds for this loss (HF's num_items_in_batch): class labels
    /// other than -100, else the target elements (rows for kl_div's batchmean).
    func items(_ labels: Tensor) -> Int {
        switch self {
        case .crossEntropy, .nll:
            guard labels.dtype == .int64 else { return labels.count }
            let l = labels.int64Data
            var n = 0
            for i in 0..<labels.count where l[i] != -100 { n += 1 }
            return n
        case .klDiv: return labels.rank == 0 ? 1 : labels.shape[0]
        default: return labels.count
        }
    }

    /// The loss of `logits` against `labels`: the mean over the items with `sum == false`,
    /// their sum with `sum == true`. Shapes as HF's models use them: logits [N, C] with labels
    /// [N], or [N, T, C] with [N, T] (token-level: the class dimension last); regression
    /// targets [N] for outputs [N, 1].
    func apply(_ logits: Tensor, _ labels: Tensor, sum: Bool, labelSmoothing: Float) throws -> Tensor {
        let reduction: Reduction = sum ? .sum : .mean
        switch self {
        case .crossEntropy, .nll:
            guard labels.dtype == .int64 else {
                throw SwiftTrainError.invalid("the \(name) loss needs int64 class labels, got \(labels.dtype) \(labels.shape)")
            }
            var (x, t) = (logits, labels)
            if logits.rank >= 3, labels.shape == Array(logits.shape.dropLast()) {  // class dimension last (HF)
                x = try logits.reshapedView([labels.count, logits.shape[logits.rank - 1]])
                t = try labels.reshapedView([labels.count])
            }
            if self == .nll { return try SwiftTrain.nllLoss(x, target: t, reduction: reduction) }
            return try SwiftTrain.crossEntropy(x, target: t, reduction: reduction, labelSmoothing: labelSmoothing)
        case .mse, .l1, .smoothL1, .huber, .bceWithLogits:
            guard labels.dtype == .float32 else {
                throw SwiftTrainError.invalid("the \(name) loss needs float32 targets, got \(labels.dtype) \(labels.shape)")
            }
            var t = labels
            if labels.shape != logits.shape && labels.count == logits.count && logits.rank == 2 && logits.shape[1] == 1 {
                t = try labels.reshapedView(logits.shape)  // targets [N] for outputs [N, 1]
            }
            guard t.shape == logits.shape else {
                throw SwiftTrainError.shape("the \(name) loss needs targets shaped like the model's outputs \(logits.shape), "
                    + "got \(labels.shape)")
            }
            switch self {
            case .mse: return try SwiftTrain.mseLoss(logits, t, reduction: reduction)
            case .l1: return try SwiftTrain.l1Loss(logits, t, reduction: reduction)
            case .smoothL1: return try SwiftTrain.smoothL1Loss(logits, t, reduction: reduction)
            case .huber: return try SwiftTrain.huberLoss(logits, t, reduction: reduction)
            default: return try binaryCrossEntropyWithLogits(logits, t, reduction: reduction)
            }
        case .klDiv:
            guard labels.dtype == .float32, labels.shape == logits.shape else {
                throw SwiftTrainError.shape("the kl_div loss needs float32 target probabilities shaped like the model's "
                    + "log-probabilities \(logits.shape), got \(labels.dtype) \(labels.shape)")
            }
            return try SwiftTrain.klDiv(logits, labels, reduction: sum ? Reduction.sum : .batchMean)
        }
    }
}

/// A user's loss in place of the built-in one (HF's compute_loss_func, a C loss function):
/// the model's outputs, the batch (labels included) and HF's num_items_in_batch. It returns
/// the micro-batch's loss as a scalar, normalised by num_items_in_batch as HF's is; see
/// `Trainer.computeLoss`.
public typealias ComputeLoss = (ModelOutput, Batch, Int) throws -> Tensor
