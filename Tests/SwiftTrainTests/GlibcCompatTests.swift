import Foundation
import XCTest

/// `Sources/PlatformShims/glibc_compat.c` defines hypotf inside the library so that the wheel
/// needs glibc 2.34, not 2.35 (docs/packaging.md). It must be that function the library
/// calls, and it must give glibc's results bit for bit.
final class GlibcCompatTests: XCTestCase {
    private typealias Hypotf = @convention(c) (Float, Float) -> Float

    func testTheLibrarysHypotfIsGlibcsBitForBit() throws {
        let ours: Hypotf = hypotf
        let libm = try XCTUnwrap(dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL))
        defer { dlclose(libm) }
        let glibc = unsafeBitCast(try XCTUnwrap(dlsym(libm, "hypotf")), to: Hypotf.self)
        XCTAssertNotEqual(unsafeBitCast(ours, to: UnsafeRawPointer.self),
                          unsafeBitCast(glibc, to: UnsafeRawPointer.self), "hypotf is libm's, not ours")

        let special: [Float] = [0, -0.0, 1, -1, 3, 4, .infinity, -.infinity, .nan,
                                .greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                                1e-20, 1e20, 3e38]
        var pairs = special.flatMap { x in special.map { (x, $0) } }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20000 {
            let e1 = Float.random(in: -140...120, using: &g), e2 = Float.random(in: -140...120, using: &g)
            pairs.append((Float.random(in: -1...1, using: &g) * powf(2, e1),
                          Float.random(in: -1...1, using: &g) * powf(2, e2)))
        }
        for (x, y) in pairs {
            let (a, b) = (ours(x, y), glibc(x, y))
            XCTAssertTrue(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN),
                          "hypotf(\(x), \(y)): \(a), glibc \(b)")
        }
        XCTAssertEqual(ours(3, 4), 5)
        XCTAssertEqual(ours(.infinity, .nan), .infinity)
    }
}
