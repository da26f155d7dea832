/// An n-dimensional array read from a file (.npy, a member of an .npz, a safetensors tensor):
/// its shape, its element type in NumPy's names ("float32", "int64", ...) and its little-endian
/// bytes, C order.
struct FileArray {
    var shape: [Int]
    var dtype: String
    var bytes: ArraySlice<UInt8>
    /// Where it came from, for errors: "'x.npy'", "'d.npz' member 'x'".
    var source: String

    static let floatTypes = ["float32", "float64"]
    static let integerTypes = ["int64", "int32", "int16", "int8", "uint8"]
    static let sizes = ["float32": 4, "float64": 8, "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1]

    /// Checks the element count against the bytes; `dtype` must be one of `sizes`.
    init(shape: [Int], dtype: String, bytes: ArraySlice<UInt8>, source: String) throws {
        guard let size = Self.sizes[dtype] else {
            throw SwiftTrainError.invalid("\(source) holds \(dtype) elements; accepted: \(Self.sizes.keys.sorted().joined(separator: ", "))")
        }
        guard shape.allSatisfy({ $0 >= 0 }), let count = Safetensors.elementCount(shape),
              count.multipliedReportingOverflow(by: size).partialValue == bytes.count, count <= Int.max / size else {
            throw SwiftTrainError.invalid("\(source): shape \(shape) of \(dtype) does not match its \(bytes.count) bytes")
        }
        (self.shape, self.dtype, self.bytes, self.source) = (shape, dtype, bytes, source)
    }

    var rows: Int { shape.first ?? 1 }
    var isFloat: Bool { Self.floatTypes.contains(dtype) }

    /// Every element as a Double.
    func doubles() -> [Double] {
        let size = Self.sizes[dtype]!
        var out = [Double](repeating: 0, count: bytes.count / size)
        bytes.withUnsafeBytes { raw in
            for i in out.indices {
                let at = i * size
                switch dtype {
                case "float32": out[i] = Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian))
                case "float64": out[i] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian)
                case "int64": out[i] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)))
                case "int32": out[i] = Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)))
                case "int16": out[i] = Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int16.self)))
                case "int8": out[i] = Double(raw.load(fromByteOffset: at, as: Int8.self))
                default: out[i] = Double(raw.load(fromByteOffset: at, as: UInt8.self))
                }
            }
        }
        return out
    }

    /// Every element as an Int64 (integer types only).
    func integers() -> [Int64] {
        if dtype == "int64" {
            return bytes.withUnsafeBytes { raw in
                (0..<(bytes.count / 8)).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
        }
        return doubles().map { Int64($0) }  // (exact: at most 32 bits)
    }
}

/// NumPy's .npy format (version 1 to 3) and uncompressed .npz archives (np.savez: a zip of .npy
/// files, stored), read without NumPy or zlib.
enum NumPyFiles {
    /// NumPy's descr ("<f4") to the element type's name; "|u1" and "|i1" have no byte order.
    static let descriptors = ["<f4": "float32", "<f8": "float64", "<i8": "int64", "<i4": "int32", "<i2": "int16",
                              "|i1": "int8", "|u1": "uint8", "<u1": "uint8", "<i1": "int8"]

    /// The array of an .npy file's bytes.
    static func array(npy bytes: ArraySlice<UInt8>, source: String) throws -> FileArray {
        func bad(_ why: String) -> SwiftTrainError { SwiftTrainError.invalid("\(source) is not a .npy file NumPy wrote: \(why)") }
        let b = Array(bytes.prefix(12)), start = bytes.startIndex
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else { throw bad("no \\x93NUMPY magic") }
        let major = b[6]
        guard (1...3).contains(major) else { throw bad("format version \(major) (1 to 3 are known)") }
        let headerLength = major == 1 ? Int(b[8]) | Int(b[9]) << 8 : (b.count >= 12 ? Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24 : -1)
        let headerStart = start + (major == 1 ? 10 : 12)
        guard headerLength >= 0, headerStart + headerLength <= bytes.endIndex else { throw bad("the header runs past the end") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = value(of: "descr", in: header)?.trimmingCharacters(in: "'\"") else { throw bad("no 'descr' in \(header)") }
        guard let dtype = descriptors[descr] else {
            throw SwiftTrainError.invalid("\(source) holds '\(descr)' elements; accepted: float32, float64, int64, int32, int16, "
                + "int8, uint8, little-endian (convert with a.astype(np.float32) or np.int64)")
        }
        if value(of: "fortran_order", in: header) == "True" {
            throw SwiftTrainError.invalid("\(source) is in Fortran order; save a C-ordered copy (np.ascontiguousarray(a))")
        }
        guard let shapeText = value(of: "shape", in: header) else { throw bad("no 'shape' in \(header)") }
        let dims = shapeText.trimmingCharacters(in: "() ").split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { d -> Int in
            guard let n = Int(d), n >= 0 else { throw bad("the shape \(shapeText) is not a tuple of sizes") }
            return n
        }
        return try FileArray(shape: shape, dtype: dtype, bytes: bytes[(headerStart + headerLength)...], source: source)
    }

    /// The text after `'key':` in a header dict, up to the next top-level comma (a tuple kept whole).
    private static func value(of key: String, in header: String) -> String? {
        guard let range = header.firstRange(of: "'\(key)':") else { return nil }
        var depth = 0, out = ""
        for c in header[range.upperBound...] {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if (c == "," && depth == 0) || c == "}" { break }
            out.append(c)
        }
        return String(out.trimmingSpaces)
    }

    /// The members of an .npz (a zip archive) by name without ".npy", each an .npy's bytes.
    static func members(npz bytes: [UInt8], source: String) throws -> [(String, ArraySlice<UInt8>)] {
        func bad(_ why: String) -> SwiftTrainError { SwiftTrainError.invalid("\(source) is not an .npz (zip) archive: \(why)") }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        // the end of central directory record: within the last 64 KiB + 22 bytes
        guard bytes.count >= 22 else { throw bad("too short") }
        var end = bytes.count - 22
        while end >= Swift.max(0, bytes.count - 22 - 65535) && u32(end) != 0x0605_4b50 { end -= 1 }
        guard end >= 0, u32(end) == 0x0605_4b50 else { throw bad("no end of central directory") }
        var count = u16(end + 10), at = u32(end + 16)
        if (count == 0xFFFF || at == 0xFFFF_FFFF), end >= 20, u32(end - 20) == 0x0706_4b50 {  // zip64
            let record = u64(end - 12)
            guard record >= 0, record + 56 <= bytes.count, u32(record) == 0x0606_4b50 else { throw bad("a broken zip64 record") }
            (count, at) = (u64(record + 32), u64(record + 48))
        }
        var members: [(String, ArraySlice<UInt8>)] = []
        for _ in 0..<count {
            guard at >= 0, at + 46 <= bytes.count, u32(at) == 0x0201_4b50 else { throw bad("a broken central directory") }
            let method = u16(at + 10), nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            var (size, local) = (u32(at + 20), u32(at + 42))
            guard at + 46 + nameLength + extraLength <= bytes.count else { throw bad("a broken central directory") }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            // zip64 sizes and offset in the extra field (id 1), for those set to 0xFFFFFFFF
            var extra = at + 46 + nameLength
            while extra + 4 <= at + 46 + nameLength + extraLength {
                let (id, length) = (u16(extra), u16(extra + 2))
                if id == 1 {
                    var field = extra + 4
                    if u32(at + 24) == 0xFFFF_FFFF { field += 8 }  // uncompressed size first
                    if u32(at + 20) == 0xFFFF_FFFF, field + 8 <= bytes.count { size = u64(field); field += 8 }
                    if u32(at + 42) == 0xFFFF_FFFF, field + 8 <= bytes.count { local = u64(field) }
                }
                extra += 4 + length
            }
            let key = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            if method != 0 {
                throw SwiftTrainError.invalid("\(source): the array '\(key)' is compressed (np.savez_compressed); swifttrain reads "
                    + "uncompressed archives: save with np.savez, or each array with np.save")
            }
            guard local >= 0, local + 30 <= bytes.count, u32(local) == 0x0403_4b50 else { throw bad("a broken local header for '\(name)'") }
            let data = local + 30 + u16(local + 26) + u16(local + 28)
            guard size >= 0, data + size <= bytes.count else { throw bad("'\(name)' runs past the end") }
            members.append((key, bytes[data..<(data + size)]))
            at += 46 + nameLength + extraLength + commentLength
        }
        return members
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
