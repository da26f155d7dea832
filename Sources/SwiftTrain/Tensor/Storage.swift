import Synchronization

/// Raw tensor memory. Buffers come from and return to `BufferPool`, so a training loop that
/// makes the same shapes every step reuses the same memory instead of allocating.
final class Storage {
    let raw: UnsafeMutableRawPointer
    let byteCount: Int
    /// For memory lent by someone else (a NumPy array, a C caller): what keeps it alive.
    /// nil for pooled memory, which goes back to the pool.
    private let lender: AnyObject?
    private let isLent: Bool
    /// Set on the memory of a copy that stands where PyTorch returns a view the contiguous
    /// storage cannot represent (a strided slice, a transpose, an expansion): what it is a
    /// copy of. Writing into such a tensor would not reach the original, so writes through
    /// the C API's and Python's in-place paths are refused (`Tensor.checkWritable`).
    var copiedView: String?

    /// Uninitialised memory for `count` elements of `dtype`.
    init(count: Int, dtype: DType = .float32) {
        byteCount = count * dtype.size
        raw = BufferPool.take(byteCount)
        lender = nil
        isLent = false
    }

    /// Memory owned by someone else, used in place. `lender` (may be nil when the caller
    /// guarantees the lifetime) is kept alive as long as this storage.
    init(lent raw: UnsafeMutableRawPointer, byteCount: Int, lender: AnyObject?) {
        self.raw = raw
        self.byteCount = byteCount
        self.lender = lender
        self.isLent = true
    }

    /// `byteCount` bytes of `parent` from byte `offset` on, used in place (a view); keeps
    /// `parent` alive and carries its `copiedView`.
    convenience init(viewOf parent: Storage, offset: Int, byteCount: Int) {
        self.init(lent: parent.raw + offset, byteCount: byteCount, lender: parent)
        copiedView = parent.copiedView
    }

    /// Memory for `count` elements of `dtype`, all zero.
    convenience init(zeros count: Int, dtype: DType = .float32) {
        self.init(count: count, dtype: dtype)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    deinit { if !isLent { BufferPool.give(raw, byteCount) } }

    /// The memory as float32 values.
    var base: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    /// The memory as int64 values.
    var int64s: UnsafeMutablePointer<Int64> { raw.assumingMemoryBound(to: Int64.self) }
    /// The memory as bool values (one byte each, 0 or 1).
    var bools: UnsafeMutablePointer<Bool> { raw.assumingMemoryBound(to: Bool.self) }
}

/// Recycles buffers by size. Steady-state training asks for the same sizes every step;
/// keeping the freed buffers avoids malloc/free and the page faults of large blocks.
enum BufferPool {
    private struct Pointer: @unchecked Sendable { let p: UnsafeMutableRawPointer }
    private struct State: ~Copyable {
        var free: [Int: [Pointer]] = [:]
        var retained = 0  // bytes held in `free`
    }

    /// At most this many bytes (256 MiB) are kept for reuse; beyond that buffers are freed.
    private static let maxRetained = 256 << 20
    private static let state = Mutex(State())

    static func take(_ byteCount: Int) -> UnsafeMutableRawPointer {
        let reused: UnsafeMutableRawPointer? = state.withLock { s in
            guard let p = s.free[byteCount]?.popLast() else { return nil }
            s.retained -= byteCount
            return p.p
        }
        return reused ?? .allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    static func give(_ p: UnsafeMutableRawPointer, _ byteCount: Int) {
        let kept = state.withLock { s -> Bool in
            guard s.retained + byteCount <= maxRetained else { return false }
            s.free[byteCount, default: []].append(Pointer(p: p))
            s.retained += byteCount
            return true
        }
        if !kept { p.deallocate() }
    }
}
