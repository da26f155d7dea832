/// Which loss a micro-batch gets, as HF's Trainer.compute_loss decides: the user's
/// compute_loss when there is one, else the loss the model returned, else the built-in loss
/// on the model's logits and the batch's labels.
struct LossResolver {
    let kind: LossKind
    let custom: ComputeLoss?
    /// HF's label_smoothing_factor (cross_entropy only).
    let labelSmoothing: Float

    /// HF's num_items_in_batch contribution of one batch: its label items for the built-in
    /// loss (tokens not -100, target elements), else its samples.
    func items(in batch: Batch) -> Int {
        batch.labels.map(kind.items) ?? batch.size
    }

    /// The piece's share of the window's loss, as HF's training_step takes it:
    /// - a compute-loss function's result as it is: it gets num_items_in_batch and normalises
    ///   by it itself (HF does not divide a compute_loss_func's loss by the accumulation steps);
    /// - a model's loss is the mean over its piece, weighted by the piece's share of the
    ///   window's samples (HF divides by the accumulation steps: the same for equal pieces);
    /// - the built-in loss sums the piece's items and divides by the window's, so a window cut
    ///   into pieces gives the update of one batch of the same samples.
    func loss(_ output: ModelOutput, _ piece: Batch, examples: Int, items: Int, whole: Bool) throws -> Tensor {
        if let l = try given(output, piece, items: items) {
            return whole || custom != nil ? l : try l * (Float(piece.size) / Float(examples))
        }
        if whole { return try builtIn(output, piece, sum: false) }
        return try builtIn(output, piece, sum: true) / Float(Swift.max(items, 1))
    }

    /// The user's or the model's loss, checked to be a float scalar; nil when neither gives one.
    func given(_ output: ModelOutput, _ batch: Batch, items: Int) throws -> Tensor? {
        // (HF's label smoother replaces the model's loss: the built-in loss then applies)
        let (l, what): (Tensor?, String) = custom != nil
            ? (try custom!(output, batch, items), "compute_loss")
            : (labelSmoothing > 0 ? nil : output.loss, "the model's \"loss\" output")
        guard let l else { return nil }
        guard l.dtype == .float32, l.count == 1 else {
            throw SwiftTrainError.shape("\(what) must be a float32 scalar, got \(l.dtype) \(l.shape)")
        }
        return l.rank == 0 ? l : try l.reshapedView([])
    }

    /// The built-in loss (mean, or sum) of the batch's logits and labels.
    func builtIn(_ output: ModelOutput, _ batch: Batch, sum: Bool) throws -> Tensor {
        guard let logits = output.logits else {
            throw SwiftTrainError.invalid("the model returned no logits and no \"loss\" (its outputs: "
                + "\(output.names.joined(separator: ", ")); its inputs: \(batch.summary)); return the logits, or a \"loss\"")
        }
        guard logits.dtype == .float32 else {
            throw SwiftTrainError.invalid("the model's logits must be float32, got \(logits.dtype) \(logits.shape)")
        }
        guard let labels = batch.labels else {
            throw SwiftTrainError.invalid("the batch has no labels (label_names: \(batch.labelNames.joined(separator: ", ")); "
                + "it has \(batch.summary)) and the model returned no \"loss\"; add labels, set label_names, or return a loss")
        }
        return try kind.apply(logits, labels, sum: sum, labelSmoothing: labelSmoothing)
    }

    /// Evaluation: the batch's loss summed over its items, and the number of items, so that a
    /// whole evaluation's loss is their ratio (the built-in loss over every item; a user's or
    /// model's mean loss weighted by the batch's samples, as HF).
    func evaluationLoss(_ output: ModelOutput, _ batch: Batch) throws -> (sum: Double, items: Int)? {
        if let l = try given(output, batch, items: items(in: batch)) {
            return (Double(try l.item()) * Double(batch.size), batch.size)
        }
        guard batch.labels != nil, output.logits != nil else { return nil }
        return (Double(try builtIn(output, batch, sum: true).item()), items(in: batch))
    }
}

extension Trainer {
    /// The trainer's built-in loss of `logits` against `labels`, the mean, as training
    /// applies it to a model that returns no loss (HF's shapes, -100 ignored,
    /// label_smoothing_factor), for a compute_loss of the user's that starts from it.
    public func builtInLoss(logits: Tensor, labels: Tensor) throws -> Tensor {
        var batch = Batch()
        batch.append("labels", labels)
        return try LossResolver(kind: loss, custom: nil, labelSmoothing: Float(args.labelSmoothingFactor))
            .builtIn(ModelOutput(logits), batch, sum: false)
    }

    /// HF's default `Trainer.compute_loss` for a model's outputs on `inputs`, the rule training
    /// applies when no compute-loss function is given: the model's "loss" output (not under
    /// label_smoothing_factor, whose smoother replaces it), else the built-in loss (the mean)
    /// of its "logits" against the inputs' labels, found by the arguments' label_names. For a
    /// compute_loss of the user's that starts from the default (Python's `super().compute_loss`).
    public func defaultLoss(outputs: ModelOutput, inputs: Batch) throws -> Tensor {
        var batch = inputs
        batch.labelNames = args.labelNames
        let resolver = LossResolver(kind: loss, custom: nil, labelSmoothing: Float(args.labelSmoothingFactor))
        if let given = try resolver.given(outputs, batch, items: batch.size) { return given }
        return try resolver.builtIn(outputs, batch, sum: false)
    }
}
