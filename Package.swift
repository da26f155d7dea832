// swift-tools-version:6.0
import PackageDescription

// SWIFTTRAIN_STATIC=1 (set by CMakeLists.txt and so by `pip install .`) makes
// libswifttrain.so self-contained: the Swift runtime linked statically, only st_* symbols
// exported, a soname. Off for `swift test`, which links XCTest and Foundation dynamically.
let selfContained = Context.environment["SWIFTTRAIN_STATIC"] == "1"
// SWIFTTRAIN_SANITIZE=1 (CMake's SWIFTTRAIN_SANITIZE, with `swift build --sanitize=address`):
// the sanitizer runtime's symbols stay undefined in the library; the program that loads it
// links the runtime (docs/abi.md, Tests/fuzz/README.md).
let sanitized = Context.environment["SWIFTTRAIN_SANITIZE"] == "1"
let selfContainedLinking: [LinkerSetting] = selfContained ? [
    .unsafeFlags([
        "-static-stdlib", "-use-ld=lld",
        "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CExports/exports.map",
        "-Xlinker", "-soname=libswifttrain.so.0",
        // never unloaded: a thread-exit destructor of the library (the graph-release queue's
        // pthread key) must not outlive its code after a dlclose
        "-Xlinker", "-z", "-Xlinker", "nodelete",
    ] + (sanitized ? [] : ["-Xlinker", "--no-undefined"])),
] : []

let package = Package(
    name: "swifttrain",
    products: [
        // MARK: - Public API
        /// The C library: libswifttrain.so implementing include/swifttrain.h.
        .library(name: "swifttrain", type: .dynamic, targets: ["CExports"]),
        /// The Swift API, for Swift packages.
        .library(name: "SwiftTrain", targets: ["SwiftTrain"]),
    ],
    targets: [
        // MARK: - Public API
        .target(
            name: "SwiftTrain",
            dependencies: ["PlatformShims"],
            // Optimised in debug builds too: the test suite trains real models, and unoptimised
            // numeric loops are 20-50x slower. -O rather than -Ounchecked in release: arguments are
            // validated at the C boundary, and a check that was missed should stop loudly rather
            // than corrupt the host's memory (the two measured the same in bench/, within noise).
            swiftSettings: [
                .unsafeFlags(["-O"], .when(configuration: .release)),
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        /// The header include/swifttrain.h as a C module, so the C layer is checked against it.
        /// Its include/ holds a symlink to the one header: a target rooted at "." would make
        /// SwiftPM scan build directories inside the checkout and fail on rebuilds.
        .target(name: "PublicHeader"),
        /// The only layer of @c functions: translation between the C ABI and the core.
        .target(
            name: "CExports",
            dependencies: ["SwiftTrain", "PublicHeader", "PlatformShims"],
            exclude: ["exports.map"],
            linkerSettings: selfContainedLinking
        ),

        // MARK: - Implementation details
        /// -fno-math-errno lets the optimizer kernels use vector square roots (sqrt is correctly
        /// rounded either way: the same bits). -gdwarf-4: Swift's clang writes DWARF 5 by default,
        /// whose string and address forms (strx1, addrx) valgrind 3.19 (Debian 12) cannot read: it
        /// then gives up on the library's whole debug info ("possibly corrupted debuginfo"). The
        /// Swift code's debug info is DWARF 4 already.
        .target(name: "PlatformShims", cSettings: [.unsafeFlags(["-fno-math-errno", "-gdwarf-4"])]),

        // MARK: - Examples and benchmarks
        .executableTarget(name: "train-digits", dependencies: ["SwiftTrain"], path: "examples/swift/TrainDigits"),
        .executableTarget(name: "char-lm", dependencies: ["SwiftTrain"], path: "examples/swift/CharLM"),
        .executableTarget(name: "swifttrain-bench", dependencies: ["SwiftTrain"], path: "bench/SwiftTrainBench"),

        // MARK: - Unit test bundles
        .testTarget(
            name: "SwiftTrainTests",
            dependencies: ["SwiftTrain"]
        ),
    ]
)
