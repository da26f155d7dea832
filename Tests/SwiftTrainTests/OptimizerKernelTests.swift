import Foundation
import XCTest
@testable import SwiftTrain

/// The fused optimizer kernels (Sources/PlatformShims/optimizer_kernels.c) against the scalar
/// formulas they replaced, bit for bit, on sizes that leave vector tails (1, 15, 17) and on one
/// that is split across threads (1000003: 16 chunks), with 1 and 2 threads; the gradient norm
/// and clipping; the thread-count setting and the pool itself (Threads).
final class OptimizerKernelTests: XCTestCase {
    private let sizes = [1, 15, 17, 1_000_003]

    /// Runs `body` with the thread count set to `n`, restoring the count afterwards.
    private func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let before = Threads.count
        try! Threads.setCount(n)
        defer { try! Threads.setCount(before) }
        return try body()
    }

    /// Values in [-1, 1) with a few exact zeros (Lion's sign, SGD's first step).
    private func randomValues(_ n: Int, seed: UInt64) -> [Float] {
        var g = Generator(seed: seed)
        return (0..<n).map { j in j % 7 == 3 ? 0 : g.uniform(-1, 1) }
    }

    /// A reference step: the scalar formula of one optimizer over p, g and its state buffers.
    typealias Reference = (_ step: Int, _ p: inout [Float], _ g: [Float], _ state: inout [[Float]]) -> Void

    /// Steps `make`'s optimizer 3 times on a parameter of `n` elements (new gradients each
    /// step) and returns p and the state buffers; `reference` does the same with its formula.
    private func run(_ n: Int, slots: Int, _ make: ([Tensor]) throws -> Optimizer)
        throws -> (p: [Float], state: [[Float]]) {
        let p = try Tensor(shape: [n], values: randomValues(n, seed: 1))
        p.requiresGrad = true
        let optimizer = try make([p])
        for step in 1...3 {
            let g = randomValues(n, seed: UInt64(10 + step))
            let storage = Storage(count: n)
            storage.base.update(from: g, count: n)
            p.gradStorage = storage
            optimizer.step()
        }
        let state = optimizer.stateDict()[0] ?? [:]
        let names = optimizer.stateNames.filter { state[$0] != nil }
        XCTAssertEqual(names.count, slots, "\(optimizer.name): state buffers")
        return (p.values, names.map { state[$0]!.values })
    }

    private func reference(_ n: Int, slots: Int, initial: Float = 0, _ step: Reference) -> (p: [Float], state: [[Float]]) {
        var p = randomValues(n, seed: 1)
        var state = Array(repeating: [Float](repeating: initial, count: n), count: slots)
        for t in 1...3 { step(t, &p, randomValues(n, seed: UInt64(10 + t)), &state) }
        return (p, state)
    }

    private func check(_ name: String, slots: Int, initial: Float = 0, _ make: ([Tensor]) throws -> Optimizer,
                       _ step: Reference, file: StaticString = #filePath, line: UInt = #line) throws {
        for n in sizes {
            let expected = reference(n, slots: slots, initial: initial, step)
            for threads in [1, 2] {
                let got = try withThreads(threads) { try run(n, slots: slots, make) }
                XCTAssert(got.p.elementsEqual(expected.p) { $0.bitPattern == $1.bitPattern },
                          "\(name), n \(n), \(threads) threads: parameters differ", file: file, line: line)
                for s in 0..<slots {
                    XCTAssert(got.state[s].elementsEqual(expected.state[s]) { $0.bitPattern == $1.bitPattern },
                              "\(name), n \(n), \(threads) threads: state \(s) differs", file: file, line: line)
                }
            }
        }
    }

    func testSGDMatchesItsFormula() throws {
        let (lr, wd): (Float, Float) = (0.1, 0.01)
        try check("SGD", slots: 0, { try SGD($0, lr: 0.1, weightDecay: 0.01) }) { _, p, g, _ in
            for j in p.indices { p[j] -= lr * (g[j] + wd * p[j]) }
        }
        for nesterov in [false, true] {
            let (mu, keep): (Float, Float) = (0.9, nesterov ? 1 : Float(1 - 0.25))
            try check("SGD momentum nesterov \(nesterov)", slots: 1, {
                try SGD($0, lr: 0.1, momentum: 0.9, dampening: nesterov ? 0 : 0.25, weightDecay: 0.01, nesterov: nesterov)
            }) { t, p, g, s in
                for j in p.indices {
                    let d = g[j] + wd * p[j]
                    s[0][j] = t == 1 ? d : mu * s[0][j] + keep * d
                    p[j] -= lr * (nesterov ? d + mu * s[0][j] : s[0][j])
                }
            }
        }
    }

    func testRMSpropMatchesItsFormula() throws {
        for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, 0.5), (true, 0.5)] {
            let (lr, wd, mu, a, w, eps): (Float, Float, Float, Float, Float, Float) =
                (0.01, 0.01, Float(momentum), 0.99, Float(1 - 0.99), 1e-8)
            let slots = 1 + (momentum > 0 ? 1 : 0) + (centered ? 1 : 0)
            try check("RMSprop centered \(centered) momentum \(momentum)", slots: slots, {
                try RMSprop($0, lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0.01, momentum: momentum, centered: centered)
            }) { _, p, g, s in
                let buf = momentum > 0 ? 1 : -1, avgG = centered ? slots - 1 : -1
                for j in p.indices {
                    let gj = g[j] + wd * p[j]
                    s[0][j] = s[0][j] * a + w * gj * gj
                    var avg: Float
                    if avgG >= 0 {
                        s[avgG][j] += w * (gj - s[avgG][j])
                        avg = (s[0][j] - s[avgG][j] * s[avgG][j]).squareRoot()
                    } else {
                        avg = s[0][j].squareRoot()
                    }
                    avg += eps
                    if buf >= 0 {
                        s[buf][j] = s[buf][j] * mu + gj / avg
                        p[j] -= lr * s[buf][j]
                    } else {
                        p[j] -= lr * (gj / avg)
                    }
                }
            }
        }
    }

    func testAdagradMatchesItsFormula() throws {
        let (wd, eps): (Float, Float) = (0.01, 1e-10)
        try check("Adagrad", slots: 1, initial: 0.1, {
            try Adagrad($0, lr: 0.01, lrDecay: 0.1, weightDecay: 0.01, initialAccumulatorValue: 0.1, eps: 1e-10)
        }) { t, p, g, s in
            let clr = Float(0.01 / (1 + Double(t - 1) * 0.1))
            for j in p.indices {
                let gj = g[j] + wd * p[j]
                s[0][j] += gj * gj
                p[j] -= clr * (gj / (s[0][j].squareRoot() + eps))
            }
        }
    }

    func testAdadeltaMatchesItsFormula() throws {
        let (lr, wd, r, w, eps): (Float, Float, Float, Float, Float) = (1, 0.01, 0.9, Float(1 - 0.9), 1e-6)
        try check("Adadelta", slots: 2, { try Adadelta($0, lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0.01) }) { _, p, g, s in
            for j in p.indices {
                let gj = g[j] + wd * p[j]
                s[0][j] = s[0][j] * r + w * gj * gj
                let std = (s[0][j] + eps).squareRoot()
                let delta = (s[1][j] + eps).squareRoot() / std * gj
                s[1][j] = s[1][j] * r + w * delta * delta
                p[j] -= lr * delta
            }
        }
    }

    func testLionMatchesItsFormula() throws {
        let (lr, b1, b2): (Float, Float, Float) = (1e-3, 0.9, 0.99)
        let decay = Float(1 - 1e-3 * 0.1)
        try check("Lion", slots: 1, { try Lion($0, lr: 1e-3, betas: (0.9, 0.99), weightDecay: 0.1) }) { _, p, g, s in
            for j in p.indices {
                p[j] *= decay
                let c = b1 * s[0][j] + (1 - b1) * g[j]
                p[j] -= lr * (c > 0 ? 1 : (c < 0 ? -1 : 0))
                s[0][j] = b2 * s[0][j] + (1 - b2) * g[j]
            }
        }
    }

    func testAdamMatchesItsFormula() throws {
        for (decoupled, amsgrad) in [(false, false), (true, false), (true, true)] {
            let (lr, wd, beta1, beta2, eps) = (1e-3, 0.01, 0.9, 0.999, 1e-8)
            try check("Adam decoupled \(decoupled) amsgrad \(amsgrad)", slots: amsgrad ? 3 : 2, {
                try Adam([ParameterGroup($0, learningRate: lr, weightDecay: wd, momentum: beta1)], beta2: beta2,
                         epsilon: eps, amsgrad: amsgrad, decoupledWeightDecay: decoupled)
            }) { t, p, g, s in
                let decay: Float = decoupled ? Float(1 - lr * wd) : 1, coupled: Float = decoupled ? 0 : Float(wd)
                let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2)
                let stepSize = Float(lr / (1 - pow(beta1, Double(t))))
                let bias2Sqrt = Float((1 - pow(beta2, Double(t))).squareRoot())
                for j in p.indices {
                    let pj = p[j] * decay
                    let gj = g[j] + coupled * pj
                    s[0][j] += w1 * (gj - s[0][j])
                    s[1][j] = s[1][j] * b2 + w2 * gj * gj
                    var v = s[1][j]
                    if amsgrad {
                        s[2][j] = Swift.max(s[2][j], v)
                        v = s[2][j]
                    }
                    p[j] = pj - stepSize * (s[0][j] / (v.squareRoot() / bias2Sqrt + Float(eps)))
                }
            }
        }
    }

    /// The gradient norm is the same bits with 1 and 2 threads, close to the exact sum, and
    /// clipping scales every element by the same float.
    func testGradientNormAndClippingDoNotDependOnTheThreadCount() throws {
        for n in sizes + [65536, 65537, 256 * 65536 + 3] {
            let values = randomValues(n, seed: 7)
            let p = Tensor.zeros([n], requiresGrad: true)
            let storage = Storage(count: n)
            storage.base.update(from: values, count: n)
            p.gradStorage = storage
            let norms = [1, 2].map { threads in withThreads(threads) { clipGradNorm([p], maxNorm: .infinity) } }
            XCTAssertEqual(norms[0].bitPattern, norms[1].bitPattern, "n \(n)")
            let exact = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norms[0], exact, accuracy: exact * 1e-6, "n \(n)")
            for threads in [1, 2] {
                storage.base.update(from: values, count: n)
                withThreads(threads) { _ = clipGradNorm([p], maxNorm: norms[0] / 3) }
                let c = Float(norms[0] / 3 / (norms[0] + 1e-6))
                XCTAssert(p.grad!.values.elementsEqual(values.map { $0 * c }) { $0.bitPattern == $1.bitPattern },
                          "clipping, n \(n), \(threads) threads")
            }
        }
    }

    func testThreadCountRoundTripsAndRejectsBadValues() throws {
        let before = Threads.count
        defer { try! Threads.setCount(before) }
        XCTAssertGreaterThanOrEqual(before, 1)
        for n in [1, 3, 2] {
            try Threads.setCount(n)
            XCTAssertEqual(Threads.count, n)
        }
        for bad in [0, -1, Int(Int32.min), Threads.maxCount + 1, Int(Int32.max), Int.max] {
            XCTAssertThrowsError(try Threads.setCount(bad)) { error in
                XCTAssertEqual((error as? SwiftTrainError)?.code, .invalidArgument)
                XCTAssert("\(error)".contains("num_threads must be between 1 and \(Threads.maxCount), got \(bad)"), "\(error)")
            }
            XCTAssertThrowsError(try BLAS.setNumThreads(bad))
            XCTAssertEqual(Threads.count, 2, "a refused count changes nothing")
        }
        try BLAS.setNumThreads(1)  // the older name sets the same count
        XCTAssertEqual(Threads.count, 1)
        XCTAssertTrue(["SWIFTTRAIN_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "sched_getaffinity"]
            .contains(Threads.defaultSource), Threads.defaultSource)
    }

    /// parallelFor covers every index once, in whole chunks; a call from inside a chunk, and
    /// calls from two threads at once, run (inline when the pool is busy) and finish.
    func testParallelForCoversEachIndexOnceInWholeChunks() throws {
        try withThreads(3) {
            for (count, grain) in [(0, 4), (1, 4), (4, 4), (5, 4), (1000, 7), (100_000, 1024)] {
                let seen = UnsafeMutablePointer<UInt8>.allocate(capacity: Swift.max(count, 1))
                seen.initialize(repeating: 0, count: Swift.max(count, 1))
                defer { seen.deallocate() }
                let misaligned = UnsafeMutablePointer<Int>.allocate(capacity: 1)
                misaligned.pointee = 0
                defer { misaligned.deallocate() }
                Threads.parallelFor(count: count, grain: grain) { range in
                    if range.lowerBound % grain != 0 || (range.upperBound % grain != 0 && range.upperBound != count) {
                        misaligned.pointee = 1  // (a benign race: any writer writes 1)
                    }
                    for j in range { seen[j] &+= 1 }
                }
                XCTAssertEqual(misaligned.pointee, 0, "count \(count), grain \(grain)")
                XCTAssert((0..<count).allSatisfy { seen[$0] == 1 }, "count \(count), grain \(grain)")
            }
            // nested: the inner loop runs inline on whichever thread runs the outer chunk
            let total = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            total.initialize(repeating: 0, count: 64)
            defer { total.deallocate() }
            Threads.parallelFor(count: 64, grain: 1) { outer in
                for i in outer { Threads.parallelFor(count: 10, grain: 1) { inner in total[i] += inner.count } }
            }
            XCTAssert((0..<64).allSatisfy { total[$0] == 10 })
        }
        // two threads at once, many times: one gets the pool, the other runs inline; both finish
        final class Results: @unchecked Sendable {  // each thread writes its own slot
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2)
            deinit { sums.deallocate() }
        }
        let results = Results()
        let values = randomValues(300_000, seed: 3)
        let expected = values.withUnsafeBufferPointer { v in withThreads(1) { Self.sumOfSquares(v) } }
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            var last = 0.0
            for _ in 0..<200 { last = values.withUnsafeBufferPointer { Self.sumOfSquares($0) } }
            results.sums[i] = last
        }
        XCTAssertEqual(results.sums[0].bitPattern, expected.bitPattern)
        XCTAssertEqual(results.sums[1].bitPattern, expected.bitPattern)
    }

    /// The gradient norm's sum of squares of a buffer, through a parameter's gradient.
    private static func sumOfSquares(_ v: UnsafeBufferPointer<Float>) -> Double {
        let p = Tensor.zeros([v.count], requiresGrad: true)
        let storage = Storage(count: v.count)
        storage.base.update(from: v.baseAddress!, count: v.count)
        p.gradStorage = storage
        let norm = clipGradNorm([p], maxNorm: .infinity)
        return norm * norm
    }
}
