import PlatformShims

/// OpenBLAS, loaded on first use with the fastest core type this CPU supports
/// (see `Sources/PlatformShims/blas_loader.c`).
public enum BLAS {
    /// Loads OpenBLAS if needed; throws `.blasUnavailable` with the reason when it cannot.
    public static func load() throws {
        if stx_blas_load() != 0 {
            throw SwiftTrainError(.blasUnavailable, String(cString: stx_blas_error()))
        }
    }

    /// The kernel family in use, e.g. "SkylakeX"; "unavailable" if OpenBLAS did not load.
    public static var coreName: String { String(cString: stx_blas_corename()) }

    /// OpenBLAS's build configuration string.
    public static var config: String { String(cString: stx_blas_config()) }

    /// The OPENBLAS_CORETYPE swifttrain chose from the CPU's features, or nil when the user's
    /// setting (or OpenBLAS's own detection) was kept.
    public static var chosenCoreType: String? {
        let s = String(cString: stx_blas_chosen_coretype())
        return s.isEmpty ? nil : s
    }

    /// The older name of `Threads.setCount`, which sets OpenBLAS's threads and the pool's
    /// together; unlike it, throws `.blasUnavailable` (changing nothing) when OpenBLAS cannot
    /// be loaded.
    public static func setNumThreads(_ n: Int) throws {
        guard n >= 1, n <= Threads.maxCount else {
            throw SwiftTrainError.invalid("num_threads must be between 1 and \(Threads.maxCount), got \(n)")
        }
        try load()
        try Threads.setCount(n)
    }

    /// Row-major `C = alpha * op(A) * op(B) + beta * C` with op(X) = X or X^T.
    /// A is [m, k] after op, B is [k, n] after op, C is [m, n]. Callers guarantee `load()`.
    @inline(__always)
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        stx_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                  a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
