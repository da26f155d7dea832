import PlatformShims

/// The library's thread count and its worker pool (`Sources/PlatformShims/thread_pool.c`).
///
/// One setting serves OpenBLAS's threads and the pool that runs element-wise work (optimizer
/// updates, gradient norms and clipping) beside the calling thread. Until `setCount` is
/// called it is `SWIFTTRAIN_NUM_THREADS`, else `OPENBLAS_NUM_THREADS`, else `OMP_NUM_THREADS`
/// (read once, when first needed; a value that is not a number in 1...`maxCount` is ignored),
/// else the number of CPUs this process may run on (`sched_getaffinity`).
public enum Threads {
    /// The largest thread count accepted.
    public static let maxCount = Int(STX_MAX_THREADS)

    /// The thread count in use (torch.get_num_threads).
    public static var count: Int { Int(stx_num_threads()) }

    /// Where the count came from before any `setCount`: "SWIFTTRAIN_NUM_THREADS",
    /// "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS" or "sched_getaffinity".
    public static var defaultSource: String { String(cString: stx_num_threads_default_source()) }

    /// Sets the thread count of OpenBLAS and of the pool (torch.set_num_threads). Throws
    /// `.invalidArgument` unless 1 <= n <= `maxCount`. Safe from any thread; a loop already
    /// running keeps the count it started with.
    public static func setCount(_ n: Int) throws {
        guard n >= 1, n <= maxCount else {
            throw SwiftTrainError.invalid("num_threads must be between 1 and \(maxCount), got \(n)")
        }
        stx_set_num_threads(Int32(n))
    }

    /// Elements per chunk for which splitting a memory-bound element-wise loop pays (the
    /// optimizer kernels' chunk: `STX_KERNEL_GRAIN`).
    public static let elementwiseGrain = Int(STX_KERNEL_GRAIN)

    /// Runs `body(range)` over `0..<count` split into chunks of `grain` elements, on this
    /// thread and the pool's workers; returns when all are done. Each call covers whole chunks
    /// (`k * grain ..< min(count, (k + 1) * grain)`), on whichever thread takes it, so a chunk's
    /// result must not depend on the thread. Runs `body(0..<count)` inline when there is one
    /// chunk or one thread, or when the pool is busy (another thread's loop, or a call from
    /// inside `body`). `body` must not throw nor escape; it may run concurrently with itself
    /// on disjoint ranges. Pick `grain` so that a chunk takes ~20 µs or more.
    public static func parallelFor(count: Int, grain: Int = elementwiseGrain, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                stx_parallel_for(count, Swift.max(grain, 1), { context, begin, end in
                    context!.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(begin..<end)
                }, context)
            }
        }
    }
}
