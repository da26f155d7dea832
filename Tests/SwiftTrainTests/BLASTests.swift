import Foundation
import XCTest
import SwiftTrain

/// OpenBLAS must run fast kernels by default: swifttrain picks the core type from the CPU
/// when the user has not, and keeps the user's choice when they have. scripts/test.sh runs
/// this file both with and without OPENBLAS_CORETYPE in the environment.
final class BLASTests: XCTestCase {
    private var cpuFlags: Set<Substring> {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " "))
    }

    func testCoreTypeIsChosenFromTheCPUUnlessTheUserChoseOne() throws {
        try BLAS.load()
        let core = BLAS.coreName
        XCTAssertNotEqual(core, "unavailable")
        if let user = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !user.isEmpty {
            XCTAssertNil(BLAS.chosenCoreType, "the user's OPENBLAS_CORETYPE must be kept")
            XCTAssertEqual(core.lowercased(), user.lowercased())
        } else {
            let flags = cpuFlags
            let expected: String? = ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"].allSatisfy(flags.contains)
                ? "SkylakeX" : (flags.contains("avx2") && flags.contains("fma") ? "Haswell" : nil)
            XCTAssertEqual(BLAS.chosenCoreType, expected)
            if let expected { XCTAssertEqual(core, expected) }
            // the environment is left as it was found
            XCTAssertNil(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
        }
        print("OpenBLAS core: \(core) (\(BLAS.config))")
    }

    func testMatmulMatchesNaiveProduct() throws {
        var g = Generator(seed: 5)
        let (m, k, n) = (37, 19, 23)
        let a = (0..<(m * k)).map { _ in g.uniform(-1, 1) }, b = (0..<(k * n)).map { _ in g.uniform(-1, 1) }
        let c = try Tensor(shape: [m, k], values: a).matmul(try Tensor(shape: [k, n], values: b)).values
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += a[i * k + p] * b[p * n + j] }
                XCTAssertEqual(c[i * n + j], s, accuracy: 1e-4)
            }
        }
    }
}
