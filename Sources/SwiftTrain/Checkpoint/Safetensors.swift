/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header mapping each tensor name to its dtype, shape
/// and byte range, then the raw little-endian bytes. Files may come from anywhere, so the
/// reader trusts nothing: every length, offset, dtype and shape is checked against the file
/// before any tensor is made, and nothing is allocated from a size the file claims.
public enum Safetensors {
    /// The largest header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    /// Bytes per element of each safetensors dtype name.
    public static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    /// The safetensors name of a tensor dtype.
    public static func name(of dtype: DType) -> String {
        switch dtype {
        case .float32: "F32"
        case .int64: "I64"
        case .bool: "BOOL"
        }
    }

    /// One tensor to write: raw little-endian bytes that must stay valid during the call.
    public struct Item {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var data: UnsafeRawBufferPointer
        public init(name: String, dtype: String, shape: [Int], data: UnsafeRawBufferPointer) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }
    }

    /// The file's bytes. Tensors are laid out by decreasing element size (then in the
    /// given order), so every tensor is aligned for its type; the header is padded with
    /// spaces to a multiple of 8 bytes.
    public static func serialize(_ items: [Item], metadata: [(String, String)] = []) throws -> [UInt8] {
        var names = Set<String>()
        for item in items {
            guard !item.name.isEmpty, item.name != "__metadata__", names.insert(item.name).inserted else {
                throw SwiftTrainError.invalid("safetensors: tensor name '\(item.name)' is empty, reserved or repeated; names must be unique")
            }
            guard let size = dtypeSizes[item.dtype] else {
                throw SwiftTrainError.invalid("safetensors: unknown dtype '\(item.dtype)' for '\(item.name)'; use one of \(dtypeSizes.keys.sorted().joined(separator: ", "))")
            }
            guard item.shape.allSatisfy({ $0 >= 0 }), let count = elementCount(item.shape), count * size == item.data.count else {
                throw SwiftTrainError.shape("safetensors: '\(item.name)' has shape \(item.shape) of \(item.dtype) but \(item.data.count) bytes")
            }
            guard item.dtype != "BOOL" || !item.data.contains(where: { $0 > 1 }) else {
                throw SwiftTrainError.invalid("safetensors: BOOL tensor '\(item.name)' holds bytes other than 0 and 1")
            }
        }
        var keys = Set<String>()
        for (key, _) in metadata where !keys.insert(key).inserted {
            throw SwiftTrainError.invalid("safetensors: metadata key '\(key)' is repeated; keys must be unique")
        }
        let ordered = items.enumerated().sorted { a, b in
            let (sa, sb) = (dtypeSizes[a.element.dtype]!, dtypeSizes[b.element.dtype]!)
            return sa != sb ? sa > sb : a.offset < b.offset
        }.map(\.element)
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.map { k, v in
                var s = ""
                JSONValue.quote(k, into: &s)
                s += ":"
                JSONValue.quote(v, into: &s)
                return s
            }.joined(separator: ",")
            header += "}"
        }
        var offset = 0
        for item in ordered {
            if header.utf8.count > 1 { header += "," }
            JSONValue.quote(item.name, into: &header)
            header += ":{\"dtype\":\"\(item.dtype)\",\"shape\":[\(item.shape.map(String.init).joined(separator: ","))],"
            header += "\"data_offsets\":[\(offset),\(offset + item.data.count)]}"
            offset += item.data.count
        }
        header += "}"
        while header.utf8.count % 8 != 0 { header += " " }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.utf8.count + offset)
        let length = UInt64(header.utf8.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        out.append(contentsOf: header.utf8)
        for item in ordered { out.append(contentsOf: item.data) }
        return out
    }

    /// The file's bytes for float32/int64/bool tensors, by name.
    public static func serialize(tensors: [(name: String, tensor: Tensor)], metadata: [(String, String)] = []) throws -> [UInt8] {
        let items = tensors.map { name, t in
            Item(name: name, dtype: Self.name(of: t.dtype), shape: t.shape,
                 data: UnsafeRawBufferPointer(start: t.storage.raw, count: t.count * t.dtype.size))
        }
        return try withExtendedLifetime(tensors) { try serialize(items, metadata: metadata) }
    }

    /// Writes tensors to `path` (safetensors.torch.save_file), atomically: the file is
    /// either the old one or the whole new one.
    public static func save(tensors: [(name: String, tensor: Tensor)], metadata: [(String, String)] = [], to path: String) throws {
        try writeFile(try serialize(tensors: tensors, metadata: metadata), to: path)
    }

    /// Writes serialized bytes to `path` atomically (written beside it, flushed, renamed).
    public static func writeFile(_ bytes: [UInt8], to path: String) throws {
        try Files.writeAtomically(bytes, to: path)
    }

    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (m, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, m <= Int(Int32.max) * 256 else { return nil }
            n = m
        }
        return n
    }
}

/// A parsed safetensors file: its tensors' names, dtypes, shapes and bytes, checked.
public struct SafetensorsFile {
    public struct Entry: Sendable {
        public let name: String
        /// The safetensors dtype name ("F32", "I64", "BF16", ...).
        public let dtype: String
        public let shape: [Int]
        /// Where the tensor's bytes start in `bytes`, and how many there are.
        public let offset: Int
        public let byteCount: Int
    }

    /// The tensors, in the order of their bytes in the file.
    public let entries: [Entry]
    /// The header's "__metadata__" (string to string), in the file's order.
    public let metadata: [(String, String)]
    /// The whole file.
    public let bytes: [UInt8]
    /// Where the bytes came from, for messages.
    public let source: String

    /// Reads and checks the file at `path`.
    public init(contentsOf path: String) throws {
        try self.init(bytes: try Files.read(path), source: path)
    }

    /// Checks `bytes` as a safetensors file. Every problem is a `.corrupt` error naming
    /// `source` and what is wrong.
    public init(bytes: [UInt8], source: String) throws {
        func bad(_ what: String) -> SwiftTrainError {
            SwiftTrainError(.corrupt, "'\(source)' is not a valid safetensors file: \(what)")
        }
        guard bytes.count >= 8 else { throw bad("it has \(bytes.count) bytes, fewer than the 8-byte header length") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(Safetensors.maxHeaderBytes) else {
            throw bad("the header length \(length) is more than the \(Safetensors.maxHeaderBytes) bytes allowed")
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw bad("the header length \(length) runs past the end of the file (\(bytes.count) bytes): the file is truncated")
        }
        let headerEnd = 8 + Int(length)
        guard length >= 2, bytes[8] == UInt8(ascii: "{") else { throw bad("the header does not start with '{'") }
        let header: JSONValue
        do { header = try JSONValue.parse(bytes[8..<headerEnd]) } catch let e as SwiftTrainError {
            throw bad("the header is not valid JSON (\(e.message))")
        }
        guard let fields = header.objectValue else { throw bad("the header is not a JSON object") }
        let dataSize = bytes.count - headerEnd
        var entries: [Entry] = []
        var metadata: [(String, String)] = []
        for (name, value) in fields {
            if name == "__metadata__" {
                guard let pairs = value.objectValue else { throw bad("__metadata__ is not an object") }
                for (k, v) in pairs {
                    guard let s = v.stringValue else { throw bad("__metadata__ value of '\(k)' is not a string") }
                    metadata.append((k, s))
                }
                continue
            }
            guard let info = value.objectValue, info.count == 3 else {
                throw bad("'\(name)' must have exactly dtype, shape and data_offsets")
            }
            guard let dtype = value["dtype"]?.stringValue, let size = Safetensors.dtypeSizes[dtype] else {
                throw bad("'\(name)' has an unknown dtype \(value["dtype"]?.serialized() ?? "(missing)")")
            }
            guard let dims = value["shape"]?.arrayValue, dims.count <= 64 else { throw bad("'\(name)' has no valid shape") }
            var shape: [Int] = []
            for d in dims {
                guard let v = d.intValue, v >= 0 else { throw bad("'\(name)' has a negative or non-integer dimension in its shape") }
                shape.append(v)
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue else {
                throw bad("'\(name)' has no valid data_offsets [begin, end]")
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw bad("'\(name)' has data_offsets [\(begin), \(end)] outside the \(dataSize) data bytes: the file is truncated or damaged")
            }
            guard let count = Safetensors.elementCount(shape), count * size == end - begin else {
                throw bad("'\(name)' has shape \(shape) of \(dtype), which does not fit its \(end - begin) bytes")
            }
            guard !name.utf8.contains(0) else { throw bad("a tensor name contains a NUL character") }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, offset: headerEnd + begin, byteCount: end - begin))
        }
        entries.sort { $0.offset < $1.offset || ($0.offset == $1.offset && $0.byteCount < $1.byteCount) }
        var expected = headerEnd
        for e in entries {
            guard e.offset == expected else {
                throw bad(e.offset < expected ? "'\(e.name)' overlaps the tensor before it" : "there is a gap of unused bytes before '\(e.name)'")
            }
            expected = e.offset + e.byteCount
        }
        guard expected == bytes.count else {
            throw bad("\(bytes.count - expected) bytes after the last tensor belong to no tensor")
        }
        for e in entries where e.dtype == "BOOL" {
            guard !bytes[e.offset..<e.offset + e.byteCount].contains(where: { $0 > 1 }) else {
                throw bad("BOOL tensor '\(e.name)' holds bytes other than 0 and 1")
            }
        }
        self.entries = entries
        self.metadata = metadata
        self.bytes = bytes
        self.source = source
    }

    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The entry as a new tensor; F32, I64 and BOOL are supported.
    public func tensor(_ entry: Entry) throws -> Tensor {
        let dtype: DType
        switch entry.dtype {
        case "F32": dtype = .float32
        case "I64": dtype = .int64
        case "BOOL": dtype = .bool
        default:
            throw SwiftTrainError.invalid("'\(source)': tensor '\(entry.name)' is \(entry.dtype); swifttrain tensors are F32, I64 or BOOL "
                + "(convert it when saving, e.g. tensor.float())")
        }
        do { try Tensor.checkShape(entry.shape, "safetensors tensor '\(entry.name)'") } catch var e as SwiftTrainError {
            e.code = .corrupt
            throw e
        }
        let t = Tensor(uninitialized: entry.shape, dtype: dtype)
        bytes.withUnsafeBytes { raw in
            t.storage.raw.copyMemory(from: raw.baseAddress! + entry.offset, byteCount: entry.byteCount)
        }
        return t
    }

    /// Every tensor by name, in file order.
    public func tensors() throws -> [(name: String, tensor: Tensor)] {
        try entries.map { ($0.name, try tensor($0)) }
    }

    /// The tensors as a dictionary, for `Module.loadStateDict`.
    public func tensorDictionary() throws -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: try tensors().map { ($0.name, $0.tensor) })
    }
}
