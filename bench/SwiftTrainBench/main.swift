// Training throughput of the Swift core on the workloads of ../shared/bench/WORKLOADS.md
// (W1 mnist-mlp, W2 tiny-overhead, W3 wide), through the Trainer as users run it.
//
//   swift run -c release swifttrain-bench [W1 W2 W3]
//
// Prints one "RESULT ..." line per workload, in the format of the peer scripts.
import SwiftTrain
@_spi(Profiling) import SwiftTrain
import Glibc

struct Workload {
    let id: String, name: String, sizes: [Int], batch: Int
    let optimizer: TrainingArguments.OptimizerKind, lr: Double, momentum: Double, weightDecay: Double
    let warmup: Int, steps: Int
}

let workloads = [
    Workload(id: "W1", name: "mnist-mlp", sizes: [784, 256, 256, 10], batch: 128, optimizer: .adamw,
             lr: 1e-3, momentum: 0, weightDecay: 0, warmup: 20, steps: 200),
    Workload(id: "W2", name: "tiny-overhead", sizes: [32, 64, 64, 4], batch: 32, optimizer: .sgd,
             lr: 1e-2, momentum: 0.9, weightDecay: 0, warmup: 100, steps: 2000),
    Workload(id: "W3", name: "wide", sizes: [1024, 2048, 2048, 10], batch: 256, optimizer: .adamw,
             lr: 1e-3, momentum: 0, weightDecay: 1e-2, warmup: 10, steps: 50),
]

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The GEMM-only ceiling of a step of `w`: the median time of the step's GEMMs (per layer the
/// forward X W^T, the weight gradient dY^T X, and but for the first layer the input gradient
/// dY W), through the same sgemm the library calls, in this process.
func gemmCeiling(_ w: Workload) throws -> (stepsPerSecond: Double, gflops: Double) {
    try BLAS.load()
    var shapes: [(ta: Bool, tb: Bool, m: Int, n: Int, k: Int)] = []
    for i in 0..<(w.sizes.count - 1) {
        let (k, n, b) = (w.sizes[i], w.sizes[i + 1], w.batch)
        shapes.append((false, true, b, n, k))       // Y = X W^T
        shapes.append((true, false, n, k, b))       // dW = dY^T X
        if i > 0 { shapes.append((false, false, b, k, n)) }  // dX = dY W
    }
    let largest = shapes.map { Swift.max($0.m * $0.k, $0.k * $0.n, $0.m * $0.n) }.max()!
    var a = [Float](repeating: 0.01, count: largest), bb = [Float](repeating: 0.02, count: largest)
    var c = [Float](repeating: 0, count: largest)
    func step() {
        a.withUnsafeBufferPointer { a in bb.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            for s in shapes {
                BLAS.sgemm(transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k,
                           a: a.baseAddress!, lda: s.ta ? s.m : s.k, b: b.baseAddress!, ldb: s.tb ? s.k : s.n,
                           beta: 0, c: c.baseAddress!, ldc: s.n)
            }
        } } }
    }
    for _ in 0..<5 { step() }
    let repeats = Swift.max(5, Swift.min(w.steps, 400))
    var samples: [Double] = []
    for _ in 0..<5 {
        let start = now()
        for _ in 0..<repeats { step() }
        samples.append((now() - start) / Double(repeats))
    }
    let t = samples.sorted()[2]
    let flops = shapes.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
    return (1 / t, flops / t * 1e-9)
}

/// Where a step's time goes, in µs per step: data, forward, loss and backward as the planned
/// step records them (Trainer.stepProfile; the trainer runs these models through it, and a
/// callback on the events inside the forward and backward passes would send it down the
/// general path), clip + schedule (the end of the last backward pass to PRE_OPTIMIZER_STEP),
/// the optimizer update (PRE_OPTIMIZER_STEP to OPTIMIZER_STEP), and the rest (step
/// bookkeeping, callbacks).
final class PhaseClock {
    var totals: [String: Double] = [:]
    /// Heap allocations counted by bench/alloc_count.c when it is preloaded (nil otherwise).
    static let allocationCount: (@convention(c) () -> UInt64)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alloc_count_get") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> UInt64).self)
    }()
    var allocationsAtStart: UInt64 = 0
    var allocations: UInt64 = 0
    let profile = StepProfile()
    private var optimizerStart = 0.0
    var counting = false {
        didSet {  // the profile's sums start with the counted steps
            if counting { (profileAtStart, stepsAtStart) = (phases, profile.steps) }
        }
    }
    private var profileAtStart: [Double] = [0, 0, 0, 0], stepsAtStart = 0
    private var phases: [Double] { [profile.data, profile.forward, profile.loss, profile.backward] }
    /// Planned steps among the counted ones.
    var plannedSteps: Int { profile.steps - stepsAtStart }

    func attach(to trainer: Trainer) {
        trainer.stepProfile = profile
        trainer.addCallback([EventMask(.preOptimizerStep), EventMask(.optimizerStep)]) { [unowned self] data, _, _ in
            let t = StepProfile.now()
            guard counting else { return }
            if data.event == .preOptimizerStep {
                totals["clip_schedule", default: 0] += t - profile.lastBackwardEnd
                optimizerStart = t
            } else {
                totals["optimizer", default: 0] += t - optimizerStart
            }
        }
    }

    /// Adds the profile's phases since counting began.
    func finish() {
        for (name, (now, start)) in zip(["data", "forward", "loss", "backward"], zip(phases, profileAtStart)) {
            totals[name] = now - start
        }
    }
}

/// A line of /proc/self/status in MiB ("VmRSS", "VmHWM": the peak), 0 where it cannot be read.
func statusMiB(_ key: String) -> Double {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(key + ":") {
            let kb = text.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
    }
    return 0
}

/// Trains workload `w`; returns microseconds per step. `listening`: a no-op callback is added
/// for those events (EVENTS below), counting how often it ran into `calls`. `phases`: timed
/// by their events (PHASES below).
@discardableResult
func run(_ w: Workload, listening: EventMask? = nil, calls: UnsafeMutablePointer<Int>? = nil, quiet: Bool = false,
         phases: PhaseClock? = nil) throws -> Double {
    manualSeed(0)
    var generator = Generator(seed: 0)
    let pool = 8 * w.batch  // 8 pre-made batches, as the peers use
    let inputs = w.sizes[0], classes = w.sizes.last!
    var x = [Float](repeating: 0, count: pool * inputs)
    for i in x.indices { x[i] = generator.uniform(-1.7, 1.7) }
    let y = (0..<pool).map { _ in Int64(generator.nextInt(below: classes)) }
    let rssBefore = statusMiB("VmRSS")  // (the data, and the dataset's copy of it below, are not counted)
    var layers: [Module] = []
    for i in 0..<(w.sizes.count - 1) {
        layers.append(try Linear(w.sizes[i], w.sizes[i + 1]))
        if i < w.sizes.count - 2 { layers.append(ReLU()) }
    }
    var args = TrainingArguments()
    args.maxSteps = w.warmup + w.steps
    args.perDeviceTrainBatchSize = w.batch
    args.optim = w.optimizer
    args.learningRate = w.lr
    args.sgdMomentum = w.momentum
    args.weightDecay = w.weightDecay
    args.maxGradNorm = 0
    args.lrSchedulerType = .constant
    args.loggingSteps = 1_000_000
    args.saveStrategy = .no  // the peers' loops write no checkpoints
    let trainer = try Trainer(model: try Sequential(layers), loss: .crossEntropy, args: args)
    trainer.trainDataset = try Dataset(features: x, numFeatures: inputs, labels: y)
    var start = 0.0
    trainer.addCallback(EventMask(.stepEnd)) { _, state, _, _ in
        if state.globalStep == w.warmup {
            start = now()
            phases?.counting = true
            phases?.allocationsAtStart = PhaseClock.allocationCount?() ?? 0
        }
    }
    phases?.attach(to: trainer)
    if let listening {
        trainer.addCallback(listening) { _, _, _ in calls?.pointee += 1 }
    }
    try trainer.train()
    let elapsed = now() - start
    if let phases, let count = PhaseClock.allocationCount { phases.allocations = count() - phases.allocationsAtStart }
    phases?.finish()
    let stepsPerSecond = Double(w.steps) / elapsed
    var flops = 0.0
    for i in 0..<(w.sizes.count - 1) { flops += 6 * Double(w.batch * w.sizes[i] * w.sizes[i + 1]) }
    if quiet { return 1e6 / stepsPerSecond }
    // Memory: the peak RSS above what the process held before training, against what
    // training needs: weights, gradients and the optimizer's state (AdamW 2 floats per
    // weight, SGD with momentum 1), plus one batch of activations (every layer's input and
    // output) and their gradients.
    let parameters = trainer.model.parameterCount
    let slots = w.optimizer == .sgd ? (w.momentum > 0 ? 1 : 0) : 2
    let activations = w.batch * (w.sizes.reduce(0, +) + w.sizes.dropFirst().reduce(0, +) - w.sizes.last!)
    let neededMiB = Double(parameters * (2 + slots) + 2 * activations) * 4 / 1048576
    let trainingMiB = statusMiB("VmHWM") - rssBefore
    print("RESULT framework=swifttrain workload=\(w.id) wname=\(w.name) steps=\(w.steps) "
        + "elapsed_s=\(elapsed) steps_per_s=\(stepsPerSecond) us_per_step=\(1e6 / stepsPerSecond) "
        + "gflops_6Bio=\(flops * stepsPerSecond * 1e-9) blas_core=\(BLAS.coreName) "
        + "final_loss=\(trainer.state.loss) peak_rss_mib=\(statusMiB("VmHWM")) rss_before_training_mib=\(rssBefore) "
        + "training_rss_mib=\(trainingMiB) needed_mib=\(neededMiB) rss_over_needed=\(trainingMiB / neededMiB) "
        + "planned_steps=\(trainer.plannedSteps)")
    return 1e6 / stepsPerSecond
}

let wanted = Set(CommandLine.arguments.dropFirst())
for w in workloads where wanted.isEmpty || wanted.contains(w.id) {
    try run(w)
}

// ADAM: the AdamW update alone on W3's parameter count (6.3 M), in ns per parameter: the
// library's fused kernel (Optim/Adam.swift -> PlatformShims/optimizer_kernels.c) against
// the three-pass scalar Swift loop it replaced, in the same run.
func adamUpdate() throws {
    let count = 1024 * 2048 + 2048 + 2048 * 2048 + 2048 + 2048 * 10 + 10
    let p = Tensor.zeros([count], requiresGrad: true)
    try (try p * 1).sum().backward()  // a gradient of ones
    let optimizer = try Adam.adamW([p], lr: 1e-3, weightDecay: 1e-2)
    let steps = 20
    optimizer.step()  // warm: the state buffers exist
    var start = now()
    for _ in 0..<steps { optimizer.step() }
    let fused = (now() - start) / Double(steps * count) * 1e9

    var w = [Float](repeating: 0, count: count), g = [Float](repeating: 1, count: count)
    var m = [Float](repeating: 0, count: count), v = [Float](repeating: 0, count: count)
    let lr = 1e-3, wd = 1e-2, beta1 = 0.9, beta2 = 0.999
    func reference(_ t: Double) {
        w.withUnsafeMutableBufferPointer { p in g.withUnsafeMutableBufferPointer { g in
            m.withUnsafeMutableBufferPointer { m in v.withUnsafeMutableBufferPointer { v in
                let decay = Float(1 - lr * wd)
                for j in 0..<count { p[j] *= decay }
                let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2)
                let stepSize = Float(lr / (1 - pow(beta1, t))), bias2Sqrt = Float((1 - pow(beta2, t)).squareRoot())
                for j in 0..<count {
                    let gj = g[j]
                    m[j] += w1 * (gj - m[j])
                    v[j] = v[j] * b2 + w2 * gj * gj
                }
                for j in 0..<count { p[j] -= stepSize * (m[j] / (v[j].squareRoot() / bias2Sqrt + 1e-8)) }
            } }
        } }
    }
    reference(1)
    start = now()
    for s in 0..<steps { reference(Double(s + 2)) }
    let scalar = (now() - start) / Double(steps * count) * 1e9
    print("RESULT framework=swifttrain workload=ADAM parameters=\(count) fused_ns_per_param=\(fused) "
        + "three_pass_scalar_ns_per_param=\(scalar) speedup=\(scalar / fused)")
}
if wanted.contains("ADAM") { try adamUpdate() }

// EVENTS: what events cost on W2 (the workload where overhead shows), in one run, medians
// of 5 interleaved runs each: no extra callback; a callback on TRAIN_END only (every other
// event fires with nobody listening, as in a run without callbacks: the step should cost
// the same); a no-op Swift callback on every event (the dispatch cost per event).
func eventCosts() throws {
    let w2 = workloads[1]
    var plain: [Double] = [], once: [Double] = [], every: [Double] = []
    var calls = 0
    for _ in 0..<5 {
        plain.append(try run(w2, quiet: true))
        once.append(try run(w2, listening: EventMask(.trainEnd), quiet: true))
        calls = 0
        every.append(try run(w2, listening: .all, calls: &calls, quiet: true))
    }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    let eventsPerStep = Double(calls) / Double(w2.warmup + w2.steps)
    let perEvent = (median(every) - median(plain)) / eventsPerStep * 1000
    print("RESULT framework=swifttrain workload=EVENTS base=W2 us_per_step_no_callback=\(median(plain)) "
        + "us_per_step_train_end_only=\(median(once)) us_per_step_every_event=\(median(every)) "
        + "events_per_step=\(eventsPerStep) ns_per_dispatched_event=\(perEvent)")
}
if wanted.contains("EVENTS") { try eventCosts() }

// PHASES: per workload, the GEMM-only ceiling (its GEMMs alone, same process) and where a
// step's time goes, timed by the trainer's events (their dispatch, ~0.3 µs each, is in
// the numbers: about 4 µs per step, which matters on W2 only).
func phaseReport() throws {
    for w in workloads {
        let ceiling = try gemmCeiling(w)
        let clock = PhaseClock()
        let usPerStep = try run(w, quiet: true, phases: clock)
        var line = "RESULT framework=swifttrain workload=PHASES_\(w.id) us_per_step=\(usPerStep) "
            + "steps_per_s=\(1e6 / usPerStep) gemm_ceiling_steps_per_s=\(ceiling.stepsPerSecond) "
            + "gemm_ceiling_gflops=\(ceiling.gflops) of_ceiling=\(1e6 / usPerStep / ceiling.stepsPerSecond)"
        var accounted = 0.0
        for name in ["data", "forward", "loss", "backward", "clip_schedule", "optimizer"] {
            let us = (clock.totals[name] ?? 0) / Double(w.steps) * 1e6
            accounted += us
            line += " \(name)_us=\(us)"
        }
        line += " other_us=\(usPerStep - accounted) gemm_only_us=\(1e6 / ceiling.stepsPerSecond)"
            + " planned_steps=\(clock.plannedSteps)"
        if PhaseClock.allocationCount != nil {  // (the end-of-training work counts too: a few per run)
            line += " allocations_per_step=\(Double(clock.allocations) / Double(w.steps))"
        }
        print(line)
    }
}
if wanted.contains("PHASES") { try phaseReport() }

// OPTIM: each optimizer's update alone on W3's parameters (6.3 M in its six tensors), in ns
// per parameter, with one thread and with all of them (the library's default count), and the
// gradient norm. Medians of 5 runs of 10 steps, interleaved.
func optimizerUpdates() throws {
    let shapes = [[2048, 1024], [2048], [2048, 2048], [2048], [10, 2048], [10]]
    let parameters = shapes.map { Tensor.zeros($0, requiresGrad: true) }
    for p in parameters { try (try p * 1).sum().backward() }  // gradients of ones
    let count = parameters.reduce(0) { $0 + $1.count }
    let all = Threads.count
    let kinds: [(String, ([Tensor]) throws -> Optimizer)] = [
        ("SGD", { try SGD($0, lr: 1e-3) }),
        ("SGD_momentum", { try SGD($0, lr: 1e-3, momentum: 0.9, weightDecay: 1e-4) }),
        ("SGD_nesterov", { try SGD($0, lr: 1e-3, momentum: 0.9, nesterov: true) }),
        ("RMSprop", { try RMSprop($0, lr: 1e-3) }),
        ("RMSprop_centered_momentum", { try RMSprop($0, lr: 1e-3, momentum: 0.9, centered: true) }),
        ("Adagrad", { try Adagrad($0, lr: 1e-3) }),
        ("Adadelta", { try Adadelta($0) }),
        ("Lion", { try Lion($0, lr: 1e-4, weightDecay: 1e-2) }),
        ("Adam", { try Adam($0, lr: 1e-3) }),
        ("AdamW", { try Adam.adamW($0, lr: 1e-3, weightDecay: 1e-2) }),
        ("AdamW_amsgrad", { try Adam.adamW($0, lr: 1e-3, amsgrad: true) }),
    ]
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    func time(_ threads: Int, _ body: () -> Void) throws -> Double {
        try Threads.setCount(threads)
        body()
        let start = now()
        for _ in 0..<10 { body() }
        return (now() - start) / Double(10 * count) * 1e9
    }
    func report(_ name: String, _ body: () -> Void) throws {
        var one: [Double] = [], many: [Double] = []
        for _ in 0..<5 {
            one.append(try time(1, body))
            many.append(try time(all, body))
        }
        print("RESULT framework=swifttrain workload=OPTIM optimizer=\(name) parameters=\(count) "
            + "ns_per_param_1_thread=\(median(one)) ns_per_param_\(all)_threads=\(median(many)) "
            + "speedup=\(median(one) / median(many))")
    }
    for (name, make) in kinds {
        let optimizer = try make(parameters)
        try report(name) { optimizer.step() }
    }
    var norm = 0.0
    try report("grad_norm") { norm += clipGradNorm(parameters, maxNorm: .infinity) }  // the norm alone
    try Threads.setCount(all)
}
if wanted.contains("OPTIM") { try optimizerUpdates() }
