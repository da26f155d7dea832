import Synchronization

/// A float32 buffer. Buffers come from and return to `BufferPool`, so a training loop that
/// makes the same shapes every step reuses the same memory instead of allocating.
final class Storage {
    let base: UnsafeMutablePointer<Float>
    let count: Int

    /// Uninitialised memory for `count` floats.
    init(count: Int) {
        self.count = count
        self.base = BufferPool.take(count)
    }

    /// Memory for `count` floats, all zero.
    convenience init(zeros count: Int) {
        self.init(count: count)
        base.update(repeating: 0, count: count)
    }

    deinit { BufferPool.give(base, count) }

    var buffer: UnsafeMutableBufferPointer<Float> { .init(start: base, count: count) }
}

/// Recycles float buffers by size. Steady-state training asks for the same sizes every
/// step; keeping the freed buffers avoids malloc/free and the page faults of large blocks.
enum BufferPool {
    private struct Pointer: @unchecked Sendable { let p: UnsafeMutablePointer<Float> }
    private struct State: ~Copyable {
        var free: [Int: [Pointer]] = [:]
        var retained = 0  // floats held in `free`
    }

    /// At most this many floats (256 MiB) are kept for reuse; beyond that buffers are freed.
    private static let maxRetained = 64 << 20
    private static let state = Mutex(State())

    static func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let reused: UnsafeMutablePointer<Float>? = state.withLock { s in
            guard let p = s.free[count]?.popLast() else { return nil }
            s.retained -= count
            return p.p
        }
        return reused ?? .allocate(capacity: max(count, 1))
    }

    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        let kept = state.withLock { s -> Bool in
            guard s.retained + count <= maxRetained else { return false }
            s.free[count, default: []].append(Pointer(p: p))
            s.retained += count
            return true
        }
        if !kept { p.deallocate() }
    }
}
