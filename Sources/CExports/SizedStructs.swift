import PublicHeader
import SwiftTrain

// Structs that grow (docs/abi.md): `uint32_t struct_size` is the first member and says how many
// bytes the caller's struct has, i.e. which version of the header it was compiled with. The
// library reads and writes only within struct_size; fields beyond it take their defaults.

/// The size of each growing struct's first version (0.2.0): where its last field then ends.
/// Fields appended later change MemoryLayout<T>.size, not these, so a caller compiled against
/// 0.2.0 keeps working.
enum FirstVersion {
    private static func end<T, F>(_ field: KeyPath<T, F>) -> Int {
        MemoryLayout<T>.offset(of: field)! + MemoryLayout<F>.size
    }
    static let conv2d = end(\st_conv2d_options.groups)
    static let pool2d = end(\st_pool2d_options.divisor_override)
    static let transformer = end(\st_transformer_options.bias)
    static let optim = end(\st_optim_options.rho)
}

/// The largest struct_size taken for real (a guard against an uninitialised struct).
private let largestStructSize = 1 << 16

/// The fields of the caller's struct at `pointer` that lie within its struct_size, over
/// `defaults` for the others. `firstSize` is the size of the struct's first version with
/// struct_size (every field it had then): a smaller struct_size is refused, since it means
/// the struct was not filled by its _init. When fields are appended, `firstSize` stays.
func readSized<T>(_ pointer: UnsafePointer<T>, defaults: T, firstSize: Int, _ fn: String,
                  _ argument: String, initName: String) throws -> T {
    let size = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
    guard size >= firstSize, size <= largestStructSize else {
        throw SwiftTrainError(.invalidArgument,
            "\(fn): \(argument)->struct_size is \(size), expected sizeof the struct (at least \(firstSize)); fill it with \(initName)")
    }
    var value = defaults
    withUnsafeMutableBytes(of: &value) { bytes in
        bytes.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer),
                                                      count: min(size, MemoryLayout<T>.size)))
    }
    return value
}

/// Fills the caller's struct of `size` bytes at `pointer`: zeroes, then the bytes of `defaults`
/// that fit, then struct_size = size. False (nothing written but, when there is room for it,
/// struct_size) when `pointer` is NULL or `size` is smaller than `firstSize` or implausible.
@discardableResult
func initSized<T>(_ pointer: UnsafeMutablePointer<T>?, _ size: Int, defaults: T, firstSize: Int) -> Bool {
    guard let pointer, size >= MemoryLayout<UInt32>.size, size <= largestStructSize else { return false }
    let raw = UnsafeMutableRawPointer(pointer)
    guard size >= firstSize else {
        raw.storeBytes(of: UInt32(size), as: UInt32.self)  // the functions reading it will say why
        return false
    }
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    withUnsafeBytes(of: defaults) { bytes in
        raw.copyMemory(from: bytes.baseAddress!, byteCount: min(size, MemoryLayout<T>.size))
    }
    raw.storeBytes(of: UInt32(size), as: UInt32.self)
    return true
}

/// The size of a struct the library hands out (st_eval_prediction, st_trainer_state's
/// struct_size in callbacks).
func librarySize<T>(_ type: T.Type) -> UInt32 { UInt32(MemoryLayout<T>.size) }
