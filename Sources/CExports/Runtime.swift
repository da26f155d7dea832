import PublicHeader
import SwiftTrain
import PlatformShims
import Glibc

nonisolated(unsafe) private let versionString: UnsafeMutablePointer<CChar> =
    strdup("\(SWIFTTRAIN_VERSION_MAJOR).\(SWIFTTRAIN_VERSION_MINOR).\(SWIFTTRAIN_VERSION_PATCH)")!

@c @implementation
public func st_version_number() -> Int32 {
    SWIFTTRAIN_VERSION_MAJOR * 10000 + SWIFTTRAIN_VERSION_MINOR * 100 + SWIFTTRAIN_VERSION_PATCH
}

@c @implementation
public func st_version_string() -> UnsafePointer<CChar>? {
    UnsafePointer(versionString)
}

@c @implementation
public func st_blas_init() -> st_status {
    status { try BLAS.load() }
}

@c @implementation
public func st_blas_corename() -> UnsafePointer<CChar>? {
    stx_blas_corename()
}

@c @implementation
public func st_blas_config() -> UnsafePointer<CChar>? {
    stx_blas_config()
}

@c @implementation
public func st_blas_set_num_threads(_ numThreads: Int32) -> st_status {
    status { try BLAS.setNumThreads(Int(numThreads)) }
}

@c @implementation
public func st_set_num_threads(_ numThreads: Int32) -> st_status {
    status { try Threads.setCount(Int(numThreads)) }
}

@c @implementation
public func st_get_num_threads() -> Int32 {
    Int32(Threads.count)
}

@c @implementation
public func st_manual_seed(_ seed: UInt64) {
    manualSeed(seed)
}
