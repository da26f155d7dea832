import Glibc
import Synchronization

@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64).
/// The same seed gives the same sequence on every platform.
public struct Generator: Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    /// A generator for one stream of a run, e.g. the data order of one epoch: the same
    /// (seed, stream) always gives the same sequence, independent of any other stream.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ 0x5851_F42D_4C95_7F2D)
    }

    /// The generator's whole state, to save it and continue the same sequence later.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// Continues the sequence of the generator whose `state` this was. Four words, not all
    /// zero (xoshiro's one invalid state).
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw SwiftTrainError(.corrupt, "a generator state must be 4 words, not all zero; got \(state)")
        }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal value (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Double(max(nextFloat(), Float.leastNormalMagnitude)), u2 = Double(nextFloat())
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextFloat()
    }

    /// Uniform integer in [0, bound), without modulo bias.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        let threshold = (0 &- b) % b
        while true {
            let r = next()
            let m = r.multipliedFullWidth(by: b)
            if m.low >= threshold { return Int(m.high) }
        }
    }

    /// A uniformly random permutation of 0..<count (Fisher-Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var p: [Int] = []
        permutation(count, into: &p)
        return p
    }

    /// The same permutation, written into `p` (whose memory is reused when it has room).
    public mutating func permutation(_ count: Int, into p: inout [Int]) {
        p.removeAll(keepingCapacity: true)
        p.append(contentsOf: 0..<count)
        var i = count - 1
        while i > 0 {
            p.swapAt(i, nextInt(below: i + 1))
            i -= 1
        }
    }
}

/// The process-wide generator used to initialise new modules' parameters, like PyTorch's
/// default generator. `manualSeed(_:)` reseeds it.
public enum DefaultGenerator {
    /// PyTorch's default seed, so an unseeded program is still deterministic.
    static let initialSeed: UInt64 = 67_280_421_310_721
    static let shared = Mutex(Generator(seed: initialSeed))

    /// Runs `body` with exclusive use of the default generator.
    public static func withGenerator<R>(_ body: (inout Generator) throws -> R) rethrows -> R {
        try shared.withLock { try body(&$0) }
    }
}

/// Seeds the default generator (like `torch.manual_seed`).
public func manualSeed(_ seed: UInt64) {
    DefaultGenerator.shared.withLock { $0 = Generator(seed: seed) }
}
