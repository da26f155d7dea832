// Training throughput of the Swift core on the workloads of ../shared/bench/WORKLOADS.md
// (W1 mnist-mlp, W2 tiny-overhead, W3 wide), through the Trainer as users run it.
//
//   swift run -c release swifttrain-bench [W1 W2 W3]
//
// Prints one "RESULT ..." line per workload, in the format of the peer scripts.
import SwiftTrain
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

/// Trains workload `w`; returns microseconds per step. `listening`: a no-op callback is added
/// for those events (EVENTS below), counting how often it ran into `calls`.
@discardableResult
func run(_ w: Workload, listening: EventMask? = nil, calls: UnsafeMutablePointer<Int>? = nil, quiet: Bool = false) throws -> Double {
    manualSeed(0)
    var generator = Generator(seed: 0)
    let pool = 8 * w.batch  // 8 pre-made batches, as the peers use
    let inputs = w.sizes[0], classes = w.sizes.last!
    var x = [Float](repeating: 0, count: pool * inputs)
    for i in x.indices { x[i] = generator.uniform(-1.7, 1.7) }
    let y = (0..<pool).map { _ in Int64(generator.nextInt(below: classes)) }
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
        if state.globalStep == w.warmup { start = now() }
    }
    if let listening {
        trainer.addCallback(listening) { _, _, _ in calls?.pointee += 1 }
    }
    try trainer.train()
    let elapsed = now() - start
    let stepsPerSecond = Double(w.steps) / elapsed
    var flops = 0.0
    for i in 0..<(w.sizes.count - 1) { flops += 6 * Double(w.batch * w.sizes[i] * w.sizes[i + 1]) }
    if quiet { return 1e6 / stepsPerSecond }
    print("RESULT framework=swifttrain workload=\(w.id) wname=\(w.name) steps=\(w.steps) "
        + "elapsed_s=\(elapsed) steps_per_s=\(stepsPerSecond) us_per_step=\(1e6 / stepsPerSecond) "
        + "gflops_6Bio=\(flops * stepsPerSecond * 1e-9) blas_core=\(BLAS.coreName) "
        + "final_loss=\(trainer.state.loss)")
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
