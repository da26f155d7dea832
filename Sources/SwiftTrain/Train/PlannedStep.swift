import Glibc

/// The forward and backward passes of a training step, run on buffers planned once, for the
/// models most training runs are: a `Sequential` of `Linear` layers and element-wise
/// activations, with the built-in cross-entropy, on an in-memory `Dataset`.
///
/// Nothing is allocated in a step and no autograd graph is built: the batch is gathered into
/// a buffer of the plan's, each layer writes its own output buffer, and the gradients of the
/// parameters go into buffers that are handed back to them every step. The arithmetic is the
/// general path's (the same sgemm calls with the same transposes and betas, the same loops),
/// so a step without micro-batches or gradient accumulation gives the same bits as forward +
/// autograd would; with them, the loss of each piece is summed and divided by the window's
/// items in one fused kernel, equal within rounding.
///
/// `make` returns nil for every other model, loss or data (they take the general path), and
/// the trainer takes the general path for any step where a callback may replace the batch,
/// outputs or loss (`blockingEvents`).
final class PlannedStep {
    enum Layer {
        case linear(Linear)
        case activation(PointwiseActivation)
    }

    /// Events inside the forward and backward passes, where a callback may replace the batch,
    /// the outputs or the loss: a callback on any of them sends the step down the general
    /// path. (At the step's later events the batch, outputs and loss of its last piece are
    /// made for the callbacks that read them, EventData.setPlanned.)
    static let blockingEvents: UInt64 = [TrainerEvent.afterDataloader, .beforeForward, .afterForward, .beforeLoss,
                                         .afterLoss, .beforeBackward, .afterBackward, .substepEnd].reduce(0) { $0 | $1.bit }

    let layers: [Layer]
    let inputWidth: Int
    /// The width of each layer's output; the last is the number of classes.
    let widths: [Int]
    /// The most rows a piece can have (the batch size, the micro-batch size or the dataset's).
    let maxRows: Int
    let dataset: Dataset
    let labels: UnsafePointer<Int64>
    /// The gathered features [maxRows, inputWidth] and labels [maxRows] of the current piece.
    private let input: Storage, targets: Storage
    /// Each layer's output, and d(loss)/d(output) (the last: the logits and their gradient).
    private let outputs: [Storage], gradients: [Storage]
    /// The last piece's rows and loss (what `lastPiece` shows).
    private var lastRows = 0, lastItems = 0, lastLoss: Float = 0
    /// The name the labels go by (HF's label_names).
    let labelName: String
    /// The gradient buffers of each layer's weight and bias, kept from step to step.
    private var weightGradients: [Storage?], biasGradients: [Storage?]

    private init(layers: [Layer], inputWidth: Int, widths: [Int], maxRows: Int, dataset: Dataset,
                 labels: UnsafePointer<Int64>, labelName: String) {
        self.labelName = labelName
        self.layers = layers
        self.inputWidth = inputWidth
        self.widths = widths
        self.maxRows = maxRows
        self.dataset = dataset
        self.labels = labels
        input = Storage(count: maxRows * inputWidth)
        targets = Storage(count: maxRows, dtype: .int64)
        outputs = widths.map { Storage(count: maxRows * $0) }
        gradients = widths.map { Storage(count: maxRows * $0) }
        weightGradients = Array(repeating: nil, count: layers.count)
        biasGradients = Array(repeating: nil, count: layers.count)
    }

    /// A plan for training `model` on `dataset` with these arguments, or nil when the
    /// general path is needed: another kind of model (any module but Linear, an element-wise
    /// activation, Flatten of [batch, features] or Dropout with p = 0, in Sequentials), loss
    /// (a compute_loss, label smoothing, a loss other than cross_entropy) or data (an
    /// iterable source, features of more than one dimension, float targets).
    static func make(model: Module, losses: LossResolver, dataset: DataSource, args: TrainingArguments) -> PlannedStep? {
        guard losses.kind == .crossEntropy, losses.custom == nil, losses.labelSmoothing == 0,
              let dataset = dataset as? Dataset, dataset.sampleShape.count == 1,
              case let .labels(labels) = dataset.targets else { return nil }
        var layers: [Layer] = []
        var widths: [Int] = []
        var width = dataset.numFeatures
        func add(_ module: Module) -> Bool {
            switch module {
            case let s as Sequential: return s.layers.allSatisfy(add)
            case let l as Linear:
                guard l.inFeatures == width else { return false }  // (the general path says what is wrong)
                layers.append(.linear(l))
                width = l.outFeatures
            case let a as Activation:
                guard let f = a.pointwise else { return false }
                layers.append(.activation(f))
            case let f as Flatten:  // of [batch, width]: nothing to do
                return [1, -1].contains(f.startDim) && [1, -1].contains(f.endDim)
            case let d as Dropout:
                return d.p == 0
            default: return false
            }
            widths.append(width)
            return true
        }
        guard add(model), case .linear = layers.last else { return nil }
        let micro = args.maxMicroBatchSize > 0 ? args.maxMicroBatchSize : Int.max
        return PlannedStep(layers: layers, inputWidth: dataset.numFeatures, widths: widths,
                           maxRows: Swift.min(args.perDeviceTrainBatchSize, micro, dataset.numSamples), dataset: dataset, labels: labels,
                           labelName: args.labelNames.first ?? "labels")
    }

    /// The trained parameters in the order `run` hands them to `ready`.
    var parametersInBackwardOrder: [Tensor] {
        layers.reversed().flatMap { layer -> [Tensor] in
            guard case let .linear(l) = layer else { return [] }
            return [l.weight, l.bias].compactMap { $0 }.filter(\.requiresGrad)
        }
    }

    /// Whether any parameter will get a gradient (else the general path reports the error).
    var trainsAnything: Bool {
        layers.contains { if case let .linear(l) = $0 { l.weight.requiresGrad || l.bias?.requiresGrad == true } else { false } }
    }

    /// Forward and backward over the pieces of the window of batches `batches` of the
    /// loader's current epoch, as UpdateStep.run does for the general path; returns the
    /// window's loss (the sum of the pieces' shares).
    /// `windowItems`: the label items of the whole window when it is shared among processes
    /// (data-parallel training: each piece's loss is then its sum over the window's items).
    /// `ready`: called with each parameter as the last piece's backward pass has made its
    /// gradient, the last layer's first (data-parallel training starts summing it then).
    func run(batches: Range<Int>, loader: DataLoader, windowItems: Int? = nil, ready: ((Tensor) -> Void)? = nil,
             microStep: () -> Void) throws -> Double {
        let micro = maxRows
        var (items, pieces) = counts(batches: batches, loader: loader)
        lastRows = 0  // (a process whose share of the window is empty shows an empty batch)
        if let windowItems { (items, pieces) = (windowItems, Int.max) }
        let lastBatch = batches.last { !loader.positions(ofBatch: $0).isEmpty }
        var total = 0.0
        for b in batches {
            let positions = loader.positions(ofBatch: b)
            var start = positions.lowerBound
            while start < positions.upperBound {
                let end = Swift.min(start + micro, positions.upperBound)
                let rows = end - start
                var clock = profile.map { _ in monotonicSeconds() } ?? 0
                gather(start..<end, loader)
                lap(&clock, \.data)
                forward(rows: rows)
                lap(&clock, \.forward)
                let share = try loss(rows: rows, windowItems: pieces == 1 ? nil : items)
                (lastRows, lastItems, lastLoss) = (rows, items, Float(share))
                total += share
                lap(&clock, \.loss)
                backward(rows: rows, ready: b == lastBatch && end == positions.upperBound ? ready : nil)
                lap(&clock, \.backward)
                microStep()
                start = end
            }
        }
        if let profile {
            profile.steps += 1
            profile.lastBackwardEnd = monotonicSeconds()
        }
        return total
    }

    /// Where the time goes, when bench/ asks (Trainer.stepProfile).
    var profile: StepProfile?

    /// Adds the time since `clock` to the profile's `phase` and restarts the clock.
    @inline(__always) private func lap(_ clock: inout Double, _ phase: ReferenceWritableKeyPath<StepProfile, Double>) {
        guard let profile else { return }
        let t = monotonicSeconds()
        profile[keyPath: phase] += t - clock
        clock = t
    }

    /// The window's label items (not -100) and pieces (micro-batches) on this process.
    func counts(batches: Range<Int>, loader: DataLoader) -> (items: Int, pieces: Int) {
        var items = 0, pieces = 0
        for b in batches {
            let positions = loader.positions(ofBatch: b)
            for p in positions where labels[loader.sample(at: p)] != -100 { items += 1 }
            pieces += (positions.count + maxRows - 1) / maxRows
        }
        return (items, pieces)
    }

    /// The last piece's batch, outputs (the logits) and loss as the general path has them at
    /// the step's later events, as tensors over the plan's buffers (valid until the next step).
    func lastPiece() -> (Batch, ModelOutput, Tensor) {
        var batch = Batch()
        batch.append("input", Tensor(shape: [lastRows] + dataset.sampleShape, storage: input))
        batch.append(labelName, Tensor(shape: [lastRows], dtype: .int64, storage: targets))
        batch.labelNames = [labelName]
        let logits = Tensor(shape: [lastRows, widths[widths.count - 1]], storage: outputs[outputs.count - 1])
        batch.numItemsInBatch = lastItems
        let loss = Tensor(uninitialized: [])
        loss.data[0] = lastLoss
        return (batch, ModelOutput(logits), loss)
    }

    private func gather(_ positions: Range<Int>, _ loader: DataLoader) {
        let x = input.base, t = targets.int64s, d = inputWidth, features = dataset.features
        for (r, p) in positions.enumerated() {
            let i = loader.sample(at: p)
            (x + r * d).update(from: features + i * d, count: d)
            t[r] = labels[i]
        }
    }

    private func forward(rows: Int) {
        var x = UnsafePointer(input.base), width = inputWidth
        for (i, layer) in layers.enumerated() {
            let y = outputs[i].base
            switch layer {
            case let .linear(l):  // y = bias broadcast over the rows, then y += x W^T (as Tensor.linear)
                let n = l.outFeatures
                if let bias = l.bias { for r in 0..<rows { (y + r * n).update(from: bias.data, count: n) } }
                BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: n, k: width, a: x, lda: width,
                           b: l.weight.data, ldb: width, beta: l.bias == nil ? 0 : 1, c: y, ldc: n)
                width = n
            case let .activation(f):
                f.forward(x, y, rows * width)
            }
            x = UnsafePointer(y)
        }
    }

    /// The fused cross-entropy of the logits (NLL.fusedMeanCrossEntropy's arithmetic): the
    /// piece's loss, and d(loss)/d(logits) in the last gradient buffer. A whole window (one
    /// piece) takes the mean over its items; a piece of a larger window its sum divided by
    /// the window's items.
    private func loss(rows: Int, windowItems: Int?) throws -> Double {
        let classes = widths[widths.count - 1], t = targets.int64s
        try NLL.check(t, count: rows, classes: classes, ignoreIndex: -100, op: "cross_entropy")
        let p = gradients[gradients.count - 1].base
        SoftmaxKernel.forward(outputs[outputs.count - 1].base, p, outer: rows, n: classes, inner: 1, log: true)
        var total: Double = 0, sum: Float = 0, kept = 0
        for i in 0..<rows where t[i] != -100 {
            let logp = p[i * classes + Int(t[i])]
            total -= Double(logp)
            sum += -logp
            kept += 1
        }
        let scale: Float, value: Double
        if let windowItems {
            scale = 1 / Float(Swift.max(windowItems, 1))
            value = Double(sum / Float(Swift.max(windowItems, 1)))
        } else {
            scale = 1 / Float(Swift.max(kept, 1))
            value = Double(Float(total / Double(kept)))
        }
        for i in 0..<(rows * classes) { p[i] = expf(p[i]) }
        for i in 0..<rows {  // (softmax - onehot) * scale, zero for ignored rows
            let ignored = t[i] == -100, row = p + i * classes
            for c in 0..<classes { row[c] = ignored ? 0 : scale * row[c] }
            if !ignored { row[Int(t[i])] -= scale }
        }
        return value
    }

    private func backward(rows: Int, ready: ((Tensor) -> Void)?) {
        // A layer passes a gradient down when a layer below it trains.
        var firstTrained = layers.count
        for (i, layer) in layers.enumerated() {
            if case let .linear(l) = layer, l.weight.requiresGrad || l.bias?.requiresGrad == true {
                firstTrained = i
                break
            }
        }
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let g = UnsafePointer(gradients[i].base)
            let x = i == 0 ? UnsafePointer(input.base) : UnsafePointer(outputs[i - 1].base)
            let inWidth = i == 0 ? inputWidth : widths[i - 1]
            let passDown = i > firstTrained
            switch layers[i] {
            case let .activation(f):
                if passDown { f.backward(g, x, outputs[i].base, gradients[i - 1].base, rows * inWidth) }
            case let .linear(l):
                let (inF, outF) = (l.inFeatures, l.outFeatures)
                // the parameters' gradients first: data-parallel training sums them (`ready`)
                // while dX is computed
                if l.weight.requiresGrad {  // dW [out, in] = G^T [out, rows] X [rows, in]
                    let (dw, beta) = gradient(of: l.weight, &weightGradients[i])
                    BLAS.sgemm(transposeA: true, transposeB: false, m: outF, n: inF, k: rows, a: g, lda: outF,
                               b: x, ldb: inF, beta: beta, c: dw, ldc: inF)
                }
                if let bias = l.bias, bias.requiresGrad {  // db [out] = column sums of G
                    let (db, beta) = gradient(of: bias, &biasGradients[i])
                    if beta == 0 { db.update(repeating: 0, count: outF) }
                    for r in 0..<rows {
                        let row = g + r * outF
                        for c in 0..<outF { db[c] += row[c] }
                    }
                }
                if let ready {
                    if l.weight.requiresGrad { ready(l.weight) }
                    if let bias = l.bias, bias.requiresGrad { ready(bias) }
                }
                if passDown {  // dX [rows, in] = G [rows, out] W [out, in]
                    BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: inF, k: outF, a: g, lda: outF,
                               b: l.weight.data, ldb: inF, beta: 0, c: gradients[i - 1].base, ldc: inF)
                }
            }
        }
    }

    /// The buffer `p`'s gradient goes into, and 1 to add to it (p has one already: a later
    /// piece of the window) or 0 to overwrite it. A fresh gradient reuses the plan's buffer
    /// of the last step, unless someone still holds that one (a `grad` tensor kept by a
    /// callback), which then keeps its values.
    private func gradient(of p: Tensor, _ slot: inout Storage?) -> (UnsafeMutablePointer<Float>, Float) {
        if let g = p.gradStorage { return (g.base, 1) }
        if slot == nil || !isKnownUniquelyReferenced(&slot!) { slot = Storage(count: p.count) }
        p.gradStorage = slot
        return (slot!.base, 0)
    }
}
