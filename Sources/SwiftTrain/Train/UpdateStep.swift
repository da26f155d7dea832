import PlatformShims
/// One optimizer update from a window of batches (HF's inner loop with gradient
/// accumulation): forward and backward over every micro-batch, the loss normalised by the
/// window's true number of examples (so a ragged window gives the update one big batch of
/// the same examples would), clipping by value and by global norm, the non-finite policy,
/// the learning rate of this step, the optimizer step, and the moving average.
final class UpdateStep {
    let model: Module
    let losses: LossResolver
    let args: TrainingArguments
    let parameters: [Tensor]
    let optimizer: Optimizer
    /// nil with reduce_lr_on_plateau, which changes the rates after evaluations instead.
    let schedule: LRSchedule?
    let average: MovingAverage?
    /// The processes training together (data parallel), nil alone.
    var group: ProcessGroup?
    /// Data-parallel training of a small model: its gradients packed into one buffer, summed
    /// in one message (made on first use, reused).
    var bucket: Storage?
    /// Models with at most this many parameters (ddp_bucket_cap_mb, 4 MB of float32 by
    /// default) sum their gradients in one message: per-message latency dominates there
    /// (docs/distributed.md); larger ones sum tensor by tensor in place, without the copies,
    /// each as soon as the planned backward pass has made it.
    var bucketLimit: Int { args.ddpBucketFloats }

    init(model: Module, losses: LossResolver, args: TrainingArguments, optimizer: Optimizer, schedule: LRSchedule?,
         average: MovingAverage?) {
        self.model = model
        self.losses = losses
        self.args = args
        self.parameters = model.parameters
        self.optimizer = optimizer
        self.schedule = schedule
        self.average = average
    }

    struct Result {
        /// Mean loss over the window's examples.
        var loss: Double
        /// Global gradient norm before clipping (NaN when neither clipping nor a check asked for it).
        var gradNorm: Double
        var skipped: Bool
        /// The window's samples (of every process, in data-parallel training).
        var examples = 0
    }

    /// Sets every group's learning rate for optimizer step `step` (0-based).
    func applySchedule(at step: Int) {
        guard let schedule else { return }
        let factor = schedule.factor(at: step)
        for i in optimizer.paramGroups.indices {
            optimizer.paramGroups[i].learningRate = optimizer.paramGroups[i].initialLearningRate * factor
        }
    }

    /// Runs the update for optimizer step `step` over a window of batches (fetched whole
    /// first, as HF does, to know its number of examples and label items): each piece is
    /// forwarded and backpropagated, firing the events of one optimizer step.
    /// `data` is what callbacks see: the micro-batch, the outputs and the loss, which they
    /// may replace (see EventData).
    func run(window: [Batch], step: Int, data: EventData, fire: (TrainerEvent) throws -> Void,
             microStep: () -> Void) throws -> Result {
        var examples = window.reduce(0) { $0 + $1.size }
        var items = window.reduce(0) { $0 + losses.items(in: $1) }
        if let group {  // the window across the processes: every piece is normalised by its totals
            var counts = [Double(examples), Double(items), 0]
            try group.sum(&counts)
            try Self.checkSamePath(counts[2], group)
            (examples, items) = (Int(counts[0]), Int(counts[1]))
        }
        let micro = args.maxMicroBatchSize > 0 ? args.maxMicroBatchSize : Int.max
        let pieces = try window.flatMap { try $0.split(maxSize: micro) }.filter { $0.size > 0 }
        var total = 0.0
        for (i, var piece) in pieces.enumerated() {
            piece.numItemsInBatch = items
            data.batch = piece
            data.outputs = nil
            data.loss = nil
            try fire(.beforeForward)
            if let replaced = data.batch { piece = replaced }
            let output = try model.forward(batch: piece)
            data.outputs = output
            try fire(.afterForward)
            try fire(.beforeLoss)
            let computed = try losses.loss(data.outputs ?? output, piece, examples: examples, items: items,
                                           whole: pieces.count == 1 && group == nil)
            data.loss = computed
            try fire(.afterLoss)
            try fire(.beforeBackward)
            let l = try data.checkedLoss(computed)
            total += Double(try l.item())
            try l.backward()
            try fire(.afterBackward)
            microStep()
            if i < pieces.count - 1 { try fire(.substepEnd) }
        }
        var result = try finish(loss: total, step: step, fire: fire)
        result.examples = examples
        return result
    }

    /// The same update from the window of batches `batches` of the loader's epoch, through
    /// the planned forward and backward (no callback listens to the events in between).
    func run(plan: PlannedStep, batches: Range<Int>, loader: DataLoader, step: Int, data: EventData,
             fire: (TrainerEvent) throws -> Void, microStep: () -> Void) throws -> Result {
        var windowItems: Int?
        var examples = batches.reduce(0) { $0 + loader.positions(ofBatch: $1).count }
        var overlapped = false
        if let group {
            var counts = [Double(examples), Double(plan.counts(batches: batches, loader: loader).items), 1]
            try group.sum(&counts)
            try Self.checkSamePath(counts[2], group)
            (examples, windowItems) = (Int(counts[0]), Int(counts[1]))
            overlapped = parameters.reduce(0, { $0 + $1.count }) > bucketLimit
        }
        let loss = overlapped
            ? try runSumming(plan: plan, batches: batches, loader: loader, windowItems: windowItems, microStep: microStep)
            : try plan.run(batches: batches, loader: loader, windowItems: windowItems, microStep: microStep)
        data.setPlanned(plan)
        var result = try finish(loss: loss, step: step, fire: fire, gradientsStarted: overlapped)
        result.examples = examples
        return result
    }

    /// After the backward passes: clipping, the non-finite policy, the schedule, the optimizer
    /// step and the moving average.
    private func finish(loss: Double, step: Int, fire: (TrainerEvent) throws -> Void,
                        gradientsStarted: Bool = false) throws -> Result {
        let total: Double
        if let group, gradientsStarted {  // the loss, once the gradient sums are done
            var values = [loss]
            try group.sum(&values)
            total = values[0]
        } else {
            total = try group.map { try sumAcross($0, loss: loss) } ?? loss
        }
        if args.maxGradValue > 0 {
            let v = Float(args.maxGradValue)
            for p in parameters {
                guard let g = p.gradStorage?.base else { continue }
                for j in 0..<p.count { g[j] = Swift.min(Swift.max(g[j], -v), v) }
            }
        }
        let norm = args.maxGradNorm > 0 ? clipGradNorm(parameters, maxNorm: args.maxGradNorm) : gradientNorm(parameters)
        if !norm.isFinite {
            switch args.nonFiniteGradNorm {
            case .error:
                throw SwiftTrainError(.invalidArgument, "the gradient norm is \(norm) at step \(step + 1) (loss \(total)); "
                    + "lower the learning rate, check the data for NaN/inf, or set nonfinite_grad_norm to 'skip'")
            case .skip:
                for p in parameters { p.zeroGrad() }
                return Result(loss: total, gradNorm: norm, skipped: true)
            }
        }
        applySchedule(at: step)
        try fire(.preOptimizerStep)
        optimizer.step()
        try fire(.optimizerStep)
        for p in parameters { p.zeroGrad() }
        average?.update()
        return Result(loss: total, gradNorm: args.maxGradNorm > 0 ? norm : .nan, skipped: false)
    }
}

extension UpdateStep {
    /// The planned passes of a model larger than the bucket, data parallel: each gradient is
    /// summed on the communication thread as soon as the backward pass has made it, in one
    /// order on every process (a process whose share is empty sends zeros after its empty pass).
    private func runSumming(plan: PlannedStep, batches: Range<Int>, loader: DataLoader, windowItems: Int?,
                            microStep: () -> Void) throws -> Double {
        guard let group else { return 0 }
        var started = Set<ObjectIdentifier>(), failure: Error?
        let start = { (p: Tensor) in
            guard failure == nil else { return }
            started.insert(ObjectIdentifier(p))
            do { try group.startSum(p.gradStorage!.base, count: p.count) } catch { failure = error }
        }
        let loss = try plan.run(batches: batches, loader: loader, windowItems: windowItems, ready: start,
                                microStep: microStep)
        for p in plan.parametersInBackwardOrder where !started.contains(ObjectIdentifier(p)) {
            if p.gradStorage == nil { p.gradStorage = Storage(zeros: p.count) }
            start(p)
        }
        if let failure { throw failure }
        return loss
    }

    /// Throws on every process unless all took the same path this step (`planned`: how many
    /// took the planned one): the two send different messages.
    static func checkSamePath(_ planned: Double, _ group: ProcessGroup) throws {
        guard planned == 0 || Int(planned) == group.size else {
            throw SwiftTrainError.invalid("the \(group.size) processes train this step differently: \(Int(planned)) "
                + "through the planned step, the others through the general one (a callback on a forward or backward "
                + "event, or a model, that only some processes have); give every process the same callbacks")
        }
    }

    /// Data-parallel training: sums every gradient and the loss across the processes (each
    /// process's are its share of the window's, already divided by the window's items), in one
    /// message for a small model (`bucketLimit`), so every process holds the gradient of the whole window and takes the same step. A
    /// parameter without a gradient here (a process whose share of the window was empty)
    /// adds zeros.
    func sumAcross(_ group: ProcessGroup, loss: Double) throws -> Double {
        // the loss, and for each parameter how many processes have a gradient for it (one
        // no process has stays without one, and the optimizer skips it, as alone)
        var values = [loss] + parameters.map { $0.gradStorage == nil ? 0.0 : 1.0 }
        try group.sum(&values)
        let summed = zip(parameters, values.dropFirst()).filter { $0.1 > 0 }.map(\.0)
        for p in summed where p.gradStorage == nil { p.gradStorage = Storage(zeros: p.count) }
        let total = summed.reduce(0) { $0 + $1.count }
        if total <= bucketLimit {
            if bucket == nil || bucket!.byteCount < total * 4 { bucket = Storage(count: total) }
            var offset = 0
            for p in summed { (bucket!.base + offset).update(from: p.gradStorage!.base, count: p.count); offset += p.count }
            try group.sum(bucket!.base, count: total)
            offset = 0
            for p in summed { p.gradStorage!.base.update(from: bucket!.base + offset, count: p.count); offset += p.count }
        } else {
            for p in summed { try group.sum(p.gradStorage!.base, count: p.count) }
        }
        return values[0]
    }
}

/// The global L2 norm of the gradients (a NaN or infinity shows up in it).
func gradientNorm(_ parameters: [Tensor]) -> Double {
    var sum = 0.0
    for p in parameters {
        guard let g = p.gradStorage?.base else { continue }
        sum += stx_sum_squares(g, p.count)
    }
    return sum.squareRoot()
}

/// An exponential moving average of the weights (AllenNLP's ExponentialMovingAverage with its
/// num-updates-adjusted decay min(decay, (1 + n) / (10 + n))), swapped in for evaluation.
public final class MovingAverage {
    public let decay: Double
    public internal(set) var numUpdates = 0
    let parameters: [Tensor]
    let shadows: [Storage]
    private(set) var swappedIn = false

    init(parameters: [Tensor], decay: Double) {
        self.decay = decay
        self.parameters = parameters
        self.shadows = parameters.map { p in
            let s = Storage(count: p.count)
            s.base.update(from: p.data, count: p.count)
            return s
        }
    }

    func update() {
        numUpdates += 1
        let d = Float(Swift.min(decay, Double(1 + numUpdates) / Double(10 + numUpdates)))
        for (p, s) in zip(parameters, shadows) {
            let x = p.data, m = s.base
            for j in 0..<p.count { m[j] = d * m[j] + (1 - d) * x[j] }
        }
    }

    /// Exchanges the raw weights and the averaged ones (call again to swap back).
    func swap() {
        for (p, s) in zip(parameters, shadows) {
            let x = p.data, m = s.base
            for j in 0..<p.count { let t = x[j]; x[j] = m[j]; m[j] = t }
        }
        swappedIn.toggle()
    }

    /// Runs `body` with the averaged weights in the model.
    func withAveragedWeights<R>(_ body: () throws -> R) rethrows -> R {
        swap()
        defer { swap() }
        return try body()
    }
}
