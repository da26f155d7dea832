import Glibc
import XCTest
@testable import SwiftTrain

/// The parsers of untrusted input in the core: SHA-256 (checkpoint checksums), JSON (state
/// files, safetensors headers) and safetensors files. Hostile inputs must be refused with a
/// `SwiftTrainError` that says what is wrong; none may crash the process. Each hostile input
/// is first tried in a forked child, so that a crash is reported as a failure naming the
/// input instead of ending the whole test run.
final class ParsingTests: XCTestCase {
    // MARK: - Helpers

    /// Runs `body(i)` for i in 0..<count in a forked child process. Returns nil when the child
    /// finished, or the index of the input being processed when it crashed and the signal.
    static func firstCrash(count: Int, _ body: (Int) -> Void) -> (index: Int, signal: Int32)? {
        guard let shared = mmap(nil, 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              shared != MAP_FAILED else { return nil }
        defer { munmap(shared, 8) }
        let slot = shared.bindMemory(to: Int.self, capacity: 1)
        slot.pointee = -1
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            for s in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
                _ = signal(s) { sig in _exit(100 + sig) }
            }
            for i in 0..<count {
                slot.pointee = i
                body(i)
            }
            _exit(0)
        }
        guard pid > 0 else { return nil }  // no fork: the in-process run still checks everything
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signalled = status & 0x7F, code = (status >> 8) & 0xFF
        if signalled == 0 && code == 0 { return nil }
        return (slot.pointee, signalled != 0 ? signalled : code - 100)
    }

    /// The byte position in a JSON error message ("invalid JSON at byte N: ...").
    static func bytePosition(in message: String) -> Int? {
        guard let r = message.range(of: "at byte ") else { return nil }
        return Int(String(message[r.upperBound...].prefix { $0.isNumber }))
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// `a` and `b` are the same value, including the order of object fields, int versus double
    /// and the bits of every double.
    static func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return Array(x.unicodeScalars) == Array(y.unicodeScalars)
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { Array($0.0.unicodeScalars) == Array($1.0.unicodeScalars) && identical($0.1, $1.1) }
        default: return false
        }
    }

    /// `v` with the fields of every object sorted as the serializer writes them.
    static func sortedKeys(_ v: JSONValue) -> JSONValue {
        switch v {
        case let .array(items): return .array(items.map(sortedKeys))
        case let .object(fields):
            return .object(fields.sorted { $0.0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.0.unicodeScalars.map(\.value)) }
                .map { ($0.0, sortedKeys($0.1)) })
        default: return v
        }
    }

    // MARK: - SHA-256

    static func sha(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { SHA256.hex($0) } }

    static func sha(_ bytes: [UInt8], chunks: [Int]) -> String {
        var s = SHA256()
        var at = 0, i = 0
        while at < bytes.count {
            let n = Swift.min(chunks[i % chunks.count], bytes.count - at)
            s.update(Array(bytes[at..<at + n]))
            at += n
            i += 1
        }
        return s.finalizeHex()
    }

    /// The byte pattern (i * 7 + 3) mod 256 of the given length (hashed with Python's hashlib).
    static func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(($0 * 7 + 3) % 256) } }

    func testSHA256NISTVectors() {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
             "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
            // the 56-byte vector with one letter doubled (57 bytes), from hashlib
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmmklmnlmnomnopnopq",
             "586779e2fd98dd04accacad5714813dafc4fe9131356bfdefe90ef64fa1179f3"),
        ]
        for (text, digest) in vectors {
            let b = Self.bytes(text)
            XCTAssertEqual(Self.sha(b), digest, "SHA-256 of '\(text)'")
            XCTAssertEqual(Self.sha(b, chunks: [1]), digest, "SHA-256 of '\(text)' fed byte by byte")
            XCTAssertEqual(Self.sha(b, chunks: [3, 0, 61, 64]), digest, "SHA-256 of '\(text)' fed in chunks")
        }
        XCTAssertEqual(SHA256.hex(UnsafeRawBufferPointer(start: nil, count: 0)),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var empty = SHA256()
        empty.update([])
        XCTAssertEqual(empty.finalizeHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testSHA256OneMillionAInUnevenChunks() {
        let a = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        XCTAssertEqual(Self.sha(a), digest)
        XCTAssertEqual(Self.sha(a, chunks: [1, 63, 64, 65, 1000]), digest)
        XCTAssertEqual(Self.sha(a, chunks: [65, 0, 127, 128, 129, 4096, 7]), digest)
    }

    func testSHA256PaddingBoundaries() {
        // 55 bytes: the length fits in the last block; 56: it needs one more block; 63/64/65 and
        // 119/120/127/128 around one and two blocks.
        let expected: [Int: String] = [
            55: "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b",
            56: "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27",
            63: "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055",
            64: "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241",
            65: "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e",
            119: "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e",
            120: "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5",
            127: "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07",
            128: "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6",
        ]
        for (n, digest) in expected.sorted(by: { $0.key < $1.key }) {
            let b = Self.pattern(n)
            XCTAssertEqual(Self.sha(b), digest, "SHA-256 of the \(n)-byte pattern")
            // every split into two updates gives the same digest
            for k in 0...n {
                var s = SHA256()
                s.update(Array(b[0..<k]))
                s.update(Array(b[k...]))
                XCTAssertEqual(s.finalizeHex(), digest, "\(n) bytes split at \(k)")
            }
        }
        // 100,000 bytes in random chunk sizes
        let big = (0..<100_000).map { UInt8($0 % 256) }
        var g = Generator(seed: 180_4)
        let chunks = (0..<200).map { _ in g.nextInt(below: 300) }
        XCTAssertEqual(Self.sha(big, chunks: chunks), "db8f1d69251d95e2c88268d3c540533cc5182e0e33065a6f3f322f606a574489")
    }

    // MARK: - JSON: accepted text

    func testJSONRoundTripOfNestedValues() throws {
        let tricky = "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\u{08} ff\u{0C} nul\u{0} us\u{1F} del\u{7F} é ß 中文 😀 𝄞 \u{FEFF}\u{2028}"
        let value = JSONValue.object([
            ("z", .array([.int(0), .int(-1), .int(Int.max), .int(Int.min), .double(0.1), .double(-2.5e-8), .double(1e16),
                           .double(-0.0), .bool(true), .bool(false), .null])),
            ("a", .object([("nested", .array([.array([]), .object([]), .array([.string(tricky)])])),
                           ("é", .string("ключ")), ("😀", .double(.nan))])),
            (tricky, .string(tricky)),
            ("", .string("")),
            ("A", .double(-.infinity)),
            ("B", .double(.infinity)),
        ])
        for indent in [2, 0, 4] {
            let text = value.serialized(indent: indent)
            XCTAssertTrue(text.utf8.allSatisfy { $0 < 0x80 }, "the text is ASCII, non-ASCII escaped like Python's")
            let parsed = try JSONValue.parse(text)
            XCTAssertTrue(Self.identical(parsed, Self.sortedKeys(value)), "round trip (indent \(indent)):\n\(text)\n\(parsed.serialized())")
            XCTAssertEqual(parsed.serialized(indent: indent), text)
            XCTAssertEqual(try JSONValue.parse(Array(text.utf8)).serialized(indent: indent), text, "parsing bytes")
        }
        XCTAssertEqual(value["a"]?["é"]?.stringValue, "ключ")
        XCTAssertEqual(try JSONValue.parse(value.serialized())[tricky]?.stringValue, tricky)
    }

    func testJSONReadsAndWritesPythonText() throws {
        // json.dumps(v, indent=2, sort_keys=True) from Python 3
        let python = #"""
        {
          "a": {
            "x": -Infinity,
            "y": "\u00e9\ud83d\ude00\n\"\\/\u0001"
          },
          "b": [
            0.1,
            1e-05,
            NaN,
            3,
            -7,
            2.5e-07,
            123456789.125
          ],
          "c": 1.7976931348623157e+308,
          "d": 5e-324,
          "e": -0.0,
          "f": 1e+16,
          "g": [],
          "h": {},
          "i": null,
          "j": true,
          "k": false,
          "l": Infinity
        }
        """#
        let value = JSONValue.object([
            ("a", .object([("x", .double(-.infinity)), ("y", .string("é😀\n\"\\/\u{01}"))])),
            ("b", .array([.double(0.1), .double(1e-05), .double(.nan), .int(3), .int(-7), .double(2.5e-07), .double(123456789.125)])),
            ("c", .double(1.7976931348623157e308)), ("d", .double(.leastNonzeroMagnitude)), ("e", .double(-0.0)), ("f", .double(1e16)),
            ("g", .array([])), ("h", .object([])), ("i", .null), ("j", .bool(true)), ("k", .bool(false)),
            ("l", .double(.infinity)),
        ])
        let parsed = try JSONValue.parse(python)
        XCTAssertTrue(Self.identical(parsed, value), parsed.serialized())
        XCTAssertEqual(value.serialized(), python, "the serializer writes what Python writes")
        XCTAssertTrue(parsed["b"]?.arrayValue?[2].doubleValue?.isNaN == true)
        // unescaped UTF-8 (ensure_ascii=False) and a byte slice that does not start at index 0
        let raw = Array("xx{\"k\": \"é中😀\", \"n\": [1, 2]}yy".utf8)
        let slice = raw[2..<(raw.count - 2)]
        let fromSlice = try JSONValue.parse(slice)
        XCTAssertEqual(fromSlice["k"]?.stringValue, "é中😀")
        XCTAssertEqual(fromSlice["n"]?.arrayValue?.count, 2)
    }

    func testJSONNumbers() throws {
        func number(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }
        XCTAssertTrue(Self.identical(try number("0"), .int(0)))
        XCTAssertTrue(Self.identical(try number("-17"), .int(-17)))
        XCTAssertTrue(Self.identical(try number("9223372036854775807"), .int(Int.max)))
        XCTAssertTrue(Self.identical(try number("-9223372036854775808"), .int(Int.min)))
        XCTAssertTrue(Self.identical(try number(" 42 \n"), .int(42)))
        let doubles: [(String, Double)] = [
            ("1e-05", 1e-05), ("1E3", 1000), ("1e+16", 1e16), ("-2.5E-7", -2.5e-7), ("3.0", 3), ("-0.0", -0.0),
            ("0.1", 0.1), ("5e-324", .leastNonzeroMagnitude), ("1.7976931348623157e+308", 1.7976931348623157e308),
            ("2.2250738585072014e-308", 2.2250738585072014e-308), ("0.30000000000000004", 0.30000000000000004),
            ("NaN", .nan), ("Infinity", .infinity), ("-Infinity", -.infinity),
        ]
        for (text, d) in doubles {
            let v = try number(text)
            guard case let .double(got) = v else { XCTFail("'\(text)' parsed as \(v.serialized()), not a double"); continue }
            XCTAssertTrue(got.bitPattern == d.bitPattern || (got.isNaN && d.isNaN), "'\(text)' parsed as \(got), expected \(d)")
        }
        XCTAssertEqual(try number("5e-324").doubleValue, .leastNonzeroMagnitude)
        XCTAssertEqual(try number("1.7976931348623157e+308").doubleValue, .greatestFiniteMagnitude)
        XCTAssertTrue(Self.identical(try number("[1e-05, NaN, -Infinity, Infinity, 7]"),
                                     .array([.double(1e-05), .double(.nan), .double(-.infinity), .double(.infinity), .int(7)])))
        // whole numbers in [2^53, 1e16), which Python writes positionally and Swift would not
        XCTAssertEqual(JSONValue.double(9.5e15).serialized(), "9500000000000000.0")
        XCTAssertEqual(JSONValue.double(-9007199254740994).serialized(), "-9007199254740994.0")
        XCTAssertEqual(JSONValue.double(0x1p53.nextDown).serialized(), "9007199254740991.0")
        XCTAssertEqual(JSONValue.double(1e16).serialized(), "1e+16")

        // shortest-repr doubles round trip bit for bit
        var special: [Double] = [0.1, 0.2, 1.0 / 3, .leastNonzeroMagnitude, 1.7976931348623157e308, 2.2250738585072014e-308,
                                 Double.leastNormalMagnitude.nextDown, 1e-05, 1e16, 1e22, 1e23, 123456789.125, -0.0, 1.0.nextUp, 1.0.nextDown,
                                 .ulpOfOne, 9007199254740994, Double(bitPattern: 8804)]
        var g = Generator(seed: 754)
        while special.count < 2000 {
            let d = Double(bitPattern: g.next())
            if d.isFinite { special.append(d) }
        }
        for d in special {
            let text = JSONValue.double(d).serialized()
            let back = try JSONValue.parse(text)
            guard case let .double(got) = back else { XCTFail("\(d) written as '\(text)' came back as \(back.serialized())"); continue }
            XCTAssertEqual(got.bitPattern, d.bitPattern, "\(d) written as '\(text)' came back as \(got)")
        }
    }

    func testJSONUnicodeEscapes() throws {
        let v = try JSONValue.parse(#""\u00e9\u4E2D\ud83d\ude00\uD834\uDD1E\u0000\u001f\u0041\"\\\/\b\f\n\r\t""#)
        XCTAssertEqual(v.stringValue.map { Array($0.unicodeScalars) },
                       Array("é中😀𝄞\u{0}\u{1F}A\"\\/\u{08}\u{0C}\n\r\t".unicodeScalars))
        XCTAssertEqual(try JSONValue.parse(#""\uffff\ud7ff\ue000""#).stringValue.map { $0.unicodeScalars.map(\.value) },
                       [0xFFFF, 0xD7FF, 0xE000])
        // keys with escapes are compared after decoding
        XCTAssertEqual(try JSONValue.parse(#"{"\u0061": 1}"#)["a"]?.intValue, 1)
    }

    func testJSONNestingUpToTheLimit() throws {
        let d = JSONValue.maxDepth
        // maxDepth - 1 arrays around a number: maxDepth nested values
        let ok = String(repeating: "[", count: d - 1) + "1" + String(repeating: "]", count: d - 1)
        XCTAssertNoThrow(try JSONValue.parse(ok))
        let objects = String(repeating: "{\"a\":", count: d - 1) + "1" + String(repeating: "}", count: d - 1)
        XCTAssertNoThrow(try JSONValue.parse(objects))
    }

    // MARK: - JSON: rejected text

    /// (input, words of the message, range of acceptable byte positions)
    static let badJSON: [(name: String, input: [UInt8], words: [String], at: ClosedRange<Int>)] = {
        var cases: [(String, [UInt8], [String], ClosedRange<Int>)] = [
            ("trailing garbage", bytes("[1, 2] x"), ["after the JSON value"], 7...7),
            ("two values", bytes("1 2"), ["after the JSON value"], 2...2),
            ("two objects", bytes("{} {}"), ["after the JSON value"], 3...3),
            ("NaN with a tail", bytes("NaNx"), ["after the JSON value"], 3...3),
            ("unterminated string", bytes("\"abc"), ["unterminated string"], 4...4),
            ("unterminated escape", bytes("\"\\"), ["escape"], 1...2),
            ("unterminated array", bytes("[1, 2"), ["unterminated array"], 5...5),
            ("array ending after a comma", bytes("[1, 2,"), ["end of text"], 6...6),
            ("unterminated array, one bracket", bytes("["), ["end of text"], 1...1),
            ("unterminated object", bytes("{\"a\": 1"), ["unterminated object"], 7...7),
            ("object ending after a comma", bytes("{\"a\": 1,"), ["string key"], 8...8),
            ("unterminated object, one brace", bytes("{"), ["string key"], 1...1),
            ("object without a colon", bytes("{\"a\" 1}"), ["':'"], 5...5),
            ("object with a number key", bytes("{1: 2}"), ["string key"], 1...1),
            ("duplicate keys", bytes("{\"a\": 1, \"a\": 2}"), ["duplicate key", "\"a\""], 9...12),
            ("duplicate escaped keys", bytes("{\"a\": 1, \"\\u0061\": 2}"), ["duplicate key"], 9...17),
            ("trailing comma in an array", bytes("[1,]"), ["expected a value"], 3...3),
            ("missing comma", bytes("[1 2]"), ["','"], 3...3),
            ("lone high surrogate", bytes(#""\ud800""#), ["surrogate"], 1...8),
            ("lone low surrogate", bytes(#""\udc00""#), ["surrogate"], 1...8),
            ("high surrogate and a letter", bytes(#""\ud800\u0041""#), ["surrogate"], 1...14),
            ("high surrogate and text", bytes(#""\ud800xx""#), ["surrogate"], 1...10),
            ("two high surrogates", bytes(#""\ud800\ud800""#), ["surrogate"], 1...14),
            ("control character in a string", bytes("\"a\u{01}b\""), ["control character"], 2...3),
            ("newline in a string", bytes("\"a\nb\""), ["control character"], 2...3),
            ("invalid UTF-8 byte", [0x22, 0x61, 0xFF, 0x22], ["UTF-8"], 1...4),
            ("overlong UTF-8", [0x22, 0xC0, 0xAF, 0x22], ["UTF-8"], 1...4),
            ("UTF-8 encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22], ["UTF-8"], 1...5),
            ("truncated UTF-8 sequence", [0x22, 0xE4, 0xB8, 0x22], ["UTF-8"], 1...4),
            ("invalid UTF-8 in a key", [0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D], ["UTF-8"], 1...4),
            ("bad escape \\x", bytes(#""\x""#), ["escape"], 1...3),
            ("bad escape \\'", bytes(#""\'""#), ["escape"], 1...3),
            ("bad escape \\U", bytes(#""\U0041""#), ["escape"], 1...3),
            ("bad hex digit", bytes(#""\u12G4""#), ["hex"], 1...6),
            ("truncated \\u", bytes(#""\u12"#), ["\\u"], 1...5),
            ("short \\u", bytes(#""\u12""#), ["\\u"], 1...6),
            ("leading + in an array", bytes("[+1]"), ["expected a value"], 1...1),
            ("leading + in an object", bytes("{\"a\": +1}"), ["expected a value"], 6...6),
            ("leading + at the start", bytes("+1"), ["expected a value"], 0...0),
            ("leading + alone", bytes("+"), ["expected a value"], 0...0),
            ("empty input", [], ["end of text"], 0...0),
            ("only spaces", bytes("  \n\t"), ["end of text"], 0...4),
            ("70-digit number", bytes(String(repeating: "1234567", count: 10)), [], 0...0),
            ("70-digit number in an array", bytes("[" + String(repeating: "9876543210", count: 7) + "]"), [], 1...1),
            ("minus alone", bytes("-"), ["value"], 0...1),
            ("two minus signs", bytes("--1"), ["value"], 0...1),
            ("two points", bytes("1.2.3"), ["unexpected text"], 0...4),
            ("exponent without digits", bytes("1e"), ["number"], 0...2),
            ("hex number", bytes("0x10"), [], 1...1),
            ("truncated literal", bytes("tru"), ["literal"], 0...0),
            ("capital literal", bytes("True"), [], 0...0),
            ("-Inf", bytes("-Inf"), ["literal"], 0...1),
            ("lower-case nan", bytes("nan"), ["literal"], 0...0),
            ("single quotes", bytes("'a'"), [], 0...0),
            ("a bare word", bytes("hello"), [], 0...0),
        ]
        for depth in [JSONValue.maxDepth + 1, 1000, 100_000] {
            cases.append(("\(depth) '['", [UInt8](repeating: UInt8(ascii: "["), count: depth), ["nested"],
                          (JSONValue.maxDepth - 2)...(JSONValue.maxDepth + 2)))
        }
        cases.append(("100000 nested objects", Array(String(repeating: "{\"a\":", count: 100_000).utf8), ["nested"],
                      0...(5 * JSONValue.maxDepth + 10)))
        cases.append(("100000 nested arrays, closed", [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
                          + [UInt8](repeating: UInt8(ascii: "]"), count: 100_000), ["nested"],
                      (JSONValue.maxDepth - 2)...(JSONValue.maxDepth + 2)))
        return cases
    }()

    func testJSONRejections() {
        var crashing = Set<Int>()
        // find every crashing case first, so the in-process run can skip them
        var start = 0
        while start < Self.badJSON.count {
            let rest = Array(Self.badJSON[start...])
            guard let crash = Self.firstCrash(count: rest.count, { i in _ = try? JSONValue.parse(rest[i].input) }),
                  crash.index >= 0 else { break }
            crashing.insert(start + crash.index)
            XCTFail("JSONValue.parse crashed (signal \(crash.signal)) on '\(Self.badJSON[start + crash.index].name)': "
                + "\(String(decoding: Self.badJSON[start + crash.index].input.prefix(40), as: UTF8.self).debugDescription)")
            start += crash.index + 1
        }
        for (i, c) in Self.badJSON.enumerated() where !crashing.contains(i) {
            do {
                let v = try JSONValue.parse(c.input)
                XCTFail("'\(c.name)' was accepted as \(v.serialized(indent: 0).prefix(60))")
            } catch let e as SwiftTrainError {
                XCTAssertEqual(e.code, .corrupt, "'\(c.name)': \(e.message)")
                for w in c.words {
                    XCTAssertTrue(e.message.lowercased().contains(w.lowercased()), "'\(c.name)': the message '\(e.message)' does not say '\(w)'")
                }
                if let at = Self.bytePosition(in: e.message) {
                    XCTAssertTrue(c.at.contains(at), "'\(c.name)': position \(at) in '\(e.message)', expected \(c.at)")
                } else {
                    XCTFail("'\(c.name)': the message '\(e.message)' gives no byte position")
                }
            } catch {
                XCTFail("'\(c.name)': not a SwiftTrainError: \(error)")
            }
        }
    }

    /// Numbers outside JSON's grammar, which Python's json module refuses too.
    func testJSONRejectsNumbersOutsideTheGrammar() {
        for text in ["01", "00", "-01", "1.", "1.e3", ".5", "-.5"] {
            XCTAssertThrowsError(try JSONValue.parse(text), "'\(text)' is not JSON (Python's json.loads refuses it)") { e in
                XCTAssertEqual((e as? SwiftTrainError)?.code, .corrupt)
            }
        }
    }

    // MARK: - Safetensors: round trips

    static func file(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let n = length ?? UInt64(h.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + data
    }

    static func headerLength(_ bytes: [UInt8]) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
    }

    func testSafetensorsRoundTrip() throws {
        let tensors: [(name: String, tensor: Tensor)] = [
            ("weight", try Tensor(shape: [2, 3], values: [1, -2.5, 3.25, .infinity, -0.0, 1e-30])),
            ("mask", try Tensor(shape: [5], boolValues: [true, false, false, true, true])),
            ("index", try Tensor(shape: [4], int64Values: [0, -1, .max, .min])),
            ("scale", try Tensor(shape: [], values: [0.5])),
            ("empty", try Tensor(shape: [0, 3], values: [])),
            ("layer.0/wé\"ird", try Tensor(shape: [1, 1], int64Values: [42])),
            ("flag", try Tensor(shape: [1], boolValues: [true])),
        ]
        let metadata = [("format", "pt"), ("zeta", "last? no: first"), ("alpha", "é \"quoted\" \\ 😀"), ("", "")]
        let bytes = try Safetensors.serialize(tensors: tensors, metadata: metadata)

        let length = Self.headerLength(bytes)
        XCTAssertEqual(length % 8, 0, "the header is padded to a multiple of 8 bytes")
        let headerEnd = 8 + Int(length)
        XCTAssertEqual(bytes.count, headerEnd + 6 * 4 + 5 + 4 * 8 + 4 + 0 + 8 + 1)
        XCTAssertEqual(bytes[8], UInt8(ascii: "{"))

        let file = try SafetensorsFile(bytes: bytes, source: "roundtrip.safetensors")
        XCTAssertEqual(file.metadata.map(\.0), metadata.map(\.0), "metadata keys keep their order")
        XCTAssertEqual(file.metadata.map(\.1), metadata.map(\.1))
        // by decreasing element size, then in the given order
        XCTAssertEqual(file.entries.map(\.name), ["index", "layer.0/wé\"ird", "weight", "scale", "empty", "mask", "flag"])
        XCTAssertEqual(file.entries.first?.offset, headerEnd)
        for e in file.entries {
            let size = Safetensors.dtypeSizes[e.dtype]!
            XCTAssertEqual((e.offset - headerEnd) % size, 0, "'\(e.name)' is aligned")
            XCTAssertEqual(e.offset % size, 0, "'\(e.name)' is aligned in the file")
        }
        let read = try file.tensors()
        XCTAssertEqual(read.map(\.name), file.entries.map(\.name))
        for (name, original) in tensors {
            guard let t = read.first(where: { $0.name == name })?.tensor else { XCTFail("'\(name)' is missing"); continue }
            XCTAssertEqual(t.shape, original.shape, name)
            XCTAssertEqual(t.dtype, original.dtype, name)
            XCTAssertEqual(t.count, original.count, name)
            switch original.dtype {
            case .float32: XCTAssertEqual(t.values.map(\.bitPattern), original.values.map(\.bitPattern), name)
            case .int64: XCTAssertEqual(t.int64Values, original.int64Values, name)
            case .bool: XCTAssertEqual(t.boolValues, original.boolValues, name)
            }
        }
        XCTAssertEqual(file.entry("scale")?.shape, [])
        XCTAssertEqual(file.entry("scale")?.byteCount, 4)
        XCTAssertEqual(file.entry("empty")?.shape, [0, 3])
        XCTAssertEqual(file.entry("empty")?.byteCount, 0)
        XCTAssertNil(file.entry("__metadata__"))

        // what another writer produces: spaces, fields in another order, no metadata
        let other = Self.file(#"{"b" : {"data_offsets": [4, 5], "shape": [1], "dtype": "BOOL"}, "a": {"shape":[], "dtype":"F32", "data_offsets":[0,4]}}  "#,
                              data: [0, 0, 0x80, 0x3F, 1])
        let o = try SafetensorsFile(bytes: other, source: "other")
        XCTAssertEqual(o.entries.map(\.name), ["a", "b"])
        XCTAssertEqual(try o.tensor(o.entry("a")!).values, [1])
        XCTAssertEqual(try o.tensor(o.entry("b")!).boolValues, [true])
        XCTAssertTrue(o.metadata.isEmpty)

        // no tensors at all
        let none = try SafetensorsFile(bytes: try Safetensors.serialize([]), source: "none")
        XCTAssertTrue(none.entries.isEmpty)
    }

    func testSafetensorsMixedDtypesAreAlignedToTheirElementSize() throws {
        var store = (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        store[29] = 1  // the BOOL byte
        try store.withUnsafeBytes { raw in
            func slice(_ r: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[r]) }
            let items = [
                Safetensors.Item(name: "u8", dtype: "U8", shape: [3], data: slice(0..<3)),
                Safetensors.Item(name: "h", dtype: "F16", shape: [3], data: slice(3..<9)),
                Safetensors.Item(name: "d", dtype: "F64", shape: [2], data: slice(9..<25)),
                Safetensors.Item(name: "i", dtype: "I32", shape: [1], data: slice(25..<29)),
                Safetensors.Item(name: "b", dtype: "BOOL", shape: [1], data: slice(29..<30)),
                Safetensors.Item(name: "s", dtype: "BF16", shape: [1], data: slice(30..<32)),
                Safetensors.Item(name: "l", dtype: "I64", shape: [0], data: slice(32..<32)),
                Safetensors.Item(name: "f", dtype: "F32", shape: [], data: slice(33..<37)),
                Safetensors.Item(name: "e", dtype: "F8_E4M3", shape: [1, 1], data: slice(37..<38)),
            ]
            let bytes = try Safetensors.serialize(items, metadata: [("k", "v")])
            XCTAssertEqual(Self.headerLength(bytes) % 8, 0)
            let file = try SafetensorsFile(bytes: bytes, source: "mixed")
            XCTAssertEqual(file.entries.map(\.name), ["d", "l", "i", "f", "h", "s", "u8", "b", "e"],
                           "by decreasing element size, then in the given order")
            for e in file.entries {
                let size = Safetensors.dtypeSizes[e.dtype]!
                XCTAssertEqual(e.offset % size, 0, "'\(e.name)' (\(e.dtype)) at byte \(e.offset) is not aligned to \(size)")
                let item = items.first { $0.name == e.name }!
                XCTAssertEqual(e.dtype, item.dtype)
                XCTAssertEqual(e.shape, item.shape)
                XCTAssertEqual(Array(bytes[e.offset..<e.offset + e.byteCount]), Array(item.data), "'\(e.name)' bytes")
            }
            XCTAssertEqual(file.metadata.first?.0, "k")
            // other dtypes parse but cannot become tensors
            XCTAssertThrowsError(try file.tensor(file.entry("h")!)) { e in
                XCTAssertEqual((e as? SwiftTrainError)?.code, .invalidArgument)
                XCTAssertTrue("\(e)".contains("F16"), "\(e)")
            }
            XCTAssertThrowsError(try file.tensors()) { e in XCTAssertEqual((e as? SwiftTrainError)?.code, .invalidArgument) }
        }
    }

    func testSafetensorsSerializeRejectsBadItems() throws {
        let four: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]
        try four.withUnsafeBytes { raw in
            let half = UnsafeRawBufferPointer(rebasing: raw[0..<4])
            func expect(_ items: [Safetensors.Item], _ code: SwiftTrainError.Code, _ word: String, metadata: [(String, String)] = [],
                        line: UInt = #line) {
                XCTAssertThrowsError(try Safetensors.serialize(items, metadata: metadata), line: line) { e in
                    guard let e = e as? SwiftTrainError else { return XCTFail("not a SwiftTrainError: \(e)", line: line) }
                    XCTAssertEqual(e.code, code, e.message, line: line)
                    XCTAssertTrue(e.message.lowercased().contains(word.lowercased()), e.message, line: line)
                }
            }
            let a = Safetensors.Item(name: "a", dtype: "F32", shape: [1], data: half)
            expect([a, a], .invalidArgument, "unique")
            expect([a, Safetensors.Item(name: "a", dtype: "I32", shape: [1], data: half)], .invalidArgument, "'a'")
            expect([Safetensors.Item(name: "", dtype: "F32", shape: [1], data: half)], .invalidArgument, "empty")
            expect([Safetensors.Item(name: "__metadata__", dtype: "F32", shape: [1], data: half)], .invalidArgument, "reserved")
            expect([Safetensors.Item(name: "x", dtype: "F128", shape: [1], data: half)], .invalidArgument, "unknown dtype")
            expect([Safetensors.Item(name: "x", dtype: "f32", shape: [1], data: half)], .invalidArgument, "unknown dtype")
            expect([Safetensors.Item(name: "x", dtype: "F32", shape: [3], data: raw)], .shapeMismatch, "8 bytes")
            expect([Safetensors.Item(name: "x", dtype: "F32", shape: [1], data: raw)], .shapeMismatch, "8 bytes")
            expect([Safetensors.Item(name: "x", dtype: "I64", shape: [], data: half)], .shapeMismatch, "4 bytes")
            expect([Safetensors.Item(name: "x", dtype: "F32", shape: [-2, -1], data: raw)], .shapeMismatch, "shape")
            expect([Safetensors.Item(name: "x", dtype: "U8", shape: [1 << 40, 1 << 40], data: raw)], .shapeMismatch, "shape")
            XCTAssertNoThrow(try Safetensors.serialize([a, Safetensors.Item(name: "b", dtype: "F32", shape: [2], data: raw)]))
        }
    }

    /// A file the writer produces must be one the reader accepts.
    func testSafetensorsSerializeWithRepeatedMetadataKeysIsReadable() throws {
        let t = try Tensor(shape: [1], values: [1])
        let bytes: [UInt8]
        do {
            bytes = try Safetensors.serialize(tensors: [("t", t)], metadata: [("k", "1"), ("k", "2")])
        } catch let e as SwiftTrainError {
            XCTAssertEqual(e.code, .invalidArgument, e.message)
            return  // refused when writing: fine
        }
        XCTAssertNoThrow(try SafetensorsFile(bytes: bytes, source: "repeated-metadata"),
                         "serialize wrote metadata with a repeated key that SafetensorsFile then refuses")
    }

    // MARK: - Safetensors: hostile files

    static let f32x1 = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#

    /// (name, bytes, words the message must contain (any of the alternatives in each group))
    static let hostile: [(name: String, bytes: [UInt8], words: [[String]])] = {
        var cases: [(String, [UInt8], [[String]])] = [
            ("empty file", [], [["0 bytes"], ["8-byte"]]),
            ("7 bytes", [1, 0, 0, 0, 0, 0, 0], [["7 bytes"], ["8-byte"]]),
            ("header length past the end", file("{}", length: 100), [["header length 100"], ["truncated", "past the end"]]),
            ("header length one past the end", file(#"{"a":\#(f32x1)}"#, data: [0, 0, 0, 0], length: UInt64(1 + #"{"a":\#(f32x1)}"#.utf8.count + 4)),
             [["truncated", "past the end"]]),
            ("header length 2^63", file("{}", length: 1 << 63), [["9223372036854775808"], ["allowed", "too large", "more than"]]),
            ("header length UInt64.max", file("{}", length: .max), [["18446744073709551615"], ["allowed", "too large", "more than"]]),
            ("header length UInt64.max, 8 bytes", (0..<8).map { _ in 0xFF }, [["18446744073709551615"]]),
            ("header length 2^63 - 1", file("{}", length: UInt64(Int64.max)), [["9223372036854775807"]]),
            ("header length just over 100 MB", file("{}", length: 100_000_001), [["100000001"], ["allowed", "more than"]]),
            ("header length 0", file("", length: 0), [["header"]]),
            ("header not JSON", file("{abc}"), [["JSON"]]),
            ("header not JSON, plain text", file("hello, world"), [["JSON", "'{'"]]),
            ("header JSON with garbage after", file("{} x"), [["JSON"]]),
            ("header truncated JSON", file(#"{"a":{"dtype":"F32""#), [["JSON"]]),
            ("header JSON array", file("[1,2,3]"), [["object", "'{'"]]),
            ("header JSON string", file("\"{}\""), [["object", "'{'"]]),
            ("header JSON number", file("42"), [["object", "'{'"]]),
            ("header JSON null", file("null"), [["object", "'{'"]]),
            ("header nested too deep", file(String(repeating: "{\"a\":", count: 100_000)), [["JSON"], ["nested"]]),
            ("header with invalid UTF-8", file("{\"a\u{FFFD}\":1}").map { $0 == 0xEF ? 0xFF : $0 }, [["JSON"]]),
            ("tensor not an object", file(#"{"a":5}"#), [["'a'"], ["dtype"]]),
            ("tensor missing dtype", file(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), [["'a'"], ["dtype"]]),
            ("tensor missing shape", file(#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), [["'a'"], ["shape"]]),
            ("tensor missing data_offsets", file(#"{"a":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]), [["'a'"], ["data_offsets"]]),
            ("tensor with an extra key", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#, data: [0, 0, 0, 0]),
             [["'a'"], ["exactly"]]),
            ("tensor with a wrong key", file(#"{"a":{"dtype":"F32","shape":[1],"offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
             [["'a'"], ["data_offsets"]]),
            ("tensor with an empty object", file(#"{"a":{}}"#), [["'a'"], ["dtype"]]),
            ("unknown dtype", file(#"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)),
             [["'a'"], ["unknown dtype"], ["F128"]]),
            ("lower-case dtype", file(#"{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), [["unknown dtype"]]),
            ("dtype not a string", file(#"{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), [["dtype"]]),
            ("negative dimension", file(#"{"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
             [["'a'"], ["negative"]]),
            ("negative dimensions with a positive product", file(#"{"a":{"dtype":"F32","shape":[-1,-1],"data_offsets":[0,4]}}"#,
                                                                 data: [0, 0, 0, 0]), [["negative"]]),
            ("fractional dimension", file(#"{"a":{"dtype":"F32","shape":[0.5,2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
             [["'a'"], ["integer"]]),
            ("string dimension", file(#"{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), [["shape"]]),
            ("shape not an array", file(#"{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), [["shape"]]),
            ("65 dimensions", file(#"{"a":{"dtype":"F32","shape":[\#(Array(repeating: "1", count: 65).joined(separator: ","))],"data_offsets":[0,4]}}"#,
                                   data: [0, 0, 0, 0]), [["shape"]]),
            ("shape product overflows Int", file(#"{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}"#,
                                                 data: [0, 0, 0, 0]), [["'a'"], ["does not fit", "too large", "overflow"]]),
            ("shape product wraps to a small number", file(#"{"a":{"dtype":"U8","shape":[4294967296,4294967296,4294967296,4],"data_offsets":[0,4]}}"#,
                                                           data: [0, 0, 0, 0]), [["'a'"]]),
            ("dimension 2^63", file(#"{"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
             [["'a'"]]),
            ("huge shape claimed over 4 bytes", file(#"{"a":{"dtype":"F64","shape":[100000000000],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
             [["does not fit"]]),
            ("data_offsets past the end", file(#"{"a":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}"#, data: [0, 0, 0, 0]),
             [["'a'"], ["data_offsets [0, 400]"], ["truncated", "outside"]]),
            ("data_offsets far past the end", file(#"{"a":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}"#),
             [["'a'"], ["outside", "truncated"]]),
            ("negative begin", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-4,4]}}"#, data: [0, 0, 0, 0]), [["'a'"], ["data_offsets"]]),
            ("begin > end", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8)),
             [["'a'"], ["data_offsets [8, 4]"]]),
            ("one offset", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#, data: [0, 0, 0, 0]), [["data_offsets"]]),
            ("three offsets", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [0, 0, 0, 0]), [["data_offsets"]]),
            ("string offsets", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}"#, data: [0, 0, 0, 0]), [["data_offsets"]]),
            ("NaN offsets", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[NaN,4]}}"#, data: [0, 0, 0, 0]), [["data_offsets"]]),
            ("byte count too small for the shape", file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
             [["'a'"], ["does not fit"], ["8 bytes"]]),
            ("byte count too large for the shape", file(#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,12]}}"#, data: [UInt8](repeating: 0, count: 12)),
             [["'a'"], ["does not fit"]]),
            ("scalar with no bytes", file(#"{"a":{"dtype":"F32","shape":[],"data_offsets":[0,0]}}"#), [["'a'"], ["does not fit"]]),
            ("overlapping tensors", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                         data: [UInt8](repeating: 0, count: 12)), [["'b'"], ["overlap"]]),
            ("the same bytes for two tensors", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#,
                                                    data: [0, 0, 0, 0]), [["overlap"]]),
            ("an empty tensor inside another", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#,
                                                    data: [UInt8](repeating: 0, count: 8)), [["'b'"], ["overlap"]]),
            ("gap between tensors", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                         data: [UInt8](repeating: 0, count: 12)), [["'b'"], ["gap"]]),
            ("gap before the first tensor", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
             [["'a'"], ["gap"]]),
            ("trailing bytes after the last tensor", file(#"{"a":\#(f32x1)}"#, data: [0, 0, 0, 0, 9, 9]), [["2 bytes"], ["last tensor"]]),
            ("data but no tensors", file("{}", data: [1, 2, 3]), [["3 bytes"], ["last tensor"]]),
            ("duplicate tensor names", file(#"{"a":\#(f32x1),"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
             [["duplicate"], ["\"a\""]]),
            ("duplicate metadata", file(#"{"__metadata__":{"k":"1"},"__metadata__":{"k":"2"}}"#), [["duplicate"]]),
            ("metadata with a number", file(#"{"__metadata__":{"format":"pt","n":1},"a":\#(f32x1)}"#, data: [0, 0, 0, 0]),
             [["__metadata__"], ["'n'"], ["not a string"]]),
            ("metadata with null", file(#"{"__metadata__":{"n":null}}"#), [["__metadata__"], ["not a string"]]),
            ("metadata with an object", file(#"{"__metadata__":{"n":{"x":"y"}}}"#), [["__metadata__"], ["not a string"]]),
            ("metadata not an object", file(#"{"__metadata__":"pt"}"#), [["__metadata__"], ["not an object"]]),
            ("metadata an array", file(#"{"__metadata__":["a","b"]}"#), [["__metadata__"], ["not an object"]]),
        ]
        return cases
    }()

    func testSafetensorsHostileFiles() {
        let cases = Self.hostile
        var crashing = Set<Int>()
        var start = 0
        while start < cases.count {
            let rest = Array(cases[start...])
            guard let crash = Self.firstCrash(count: rest.count, { i in _ = try? SafetensorsFile(bytes: rest[i].bytes, source: "hostile") }),
                  crash.index >= 0 else { break }
            crashing.insert(start + crash.index)
            XCTFail("SafetensorsFile crashed (signal \(crash.signal)) on '\(cases[start + crash.index].name)'")
            start += crash.index + 1
        }
        for (i, c) in cases.enumerated() where !crashing.contains(i) {
            let source = "hostile-\(i).safetensors"
            do {
                let f = try SafetensorsFile(bytes: c.bytes, source: source)
                XCTFail("'\(c.name)' was accepted: \(f.entries.map { "\($0.name) \($0.dtype) \($0.shape) @\($0.offset)+\($0.byteCount)" })")
            } catch let e as SwiftTrainError {
                XCTAssertEqual(e.code, .corrupt, "'\(c.name)': \(e.message)")
                XCTAssertTrue(e.message.contains(source), "'\(c.name)': the message '\(e.message)' does not name the file")
                let message = e.message.lowercased()
                for group in c.words {
                    XCTAssertTrue(group.contains { message.contains($0.lowercased()) },
                                  "'\(c.name)': the message '\(e.message)' says none of \(group)")
                }
            } catch {
                XCTFail("'\(c.name)': not a SwiftTrainError: \(error)")
            }
        }
    }

    func testSafetensorsHostileTensorContents() throws {
        // BOOL bytes other than 0 and 1 are refused when the file is read, and when written
        for byte: UInt8 in [2, 0x80, 0xFF] {
            let bytes = Self.file(#"{"m":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,4]}}"#, data: [0, 1, byte, 1])
            XCTAssertThrowsError(try SafetensorsFile(bytes: bytes, source: "bools"), "BOOL byte \(byte)") { e in
                guard let e = e as? SwiftTrainError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.code, .corrupt, e.message)
                XCTAssertTrue(e.message.contains("'m'") && e.message.contains("0 and 1"), e.message)
            }
            try [0, 1, byte, 1].withUnsafeBytes { raw in
                XCTAssertThrowsError(try Safetensors.serialize([Safetensors.Item(name: "m", dtype: "BOOL", shape: [4], data: raw)])) {
                    XCTAssertEqual(($0 as! SwiftTrainError).code, .invalidArgument)
                }
            }
        }
        let good = try SafetensorsFile(bytes: Self.file(#"{"m":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}"#, data: [0, 1, 1, 0]),
                                       source: "bools")
        XCTAssertEqual(try good.tensor(good.entries[0]).boolValues, [false, true, true, false])

        // unsupported dtypes are an invalid argument, named
        for (dtype, n) in [("F16", 2), ("BF16", 2), ("F64", 8), ("U8", 1), ("I32", 4), ("F8_E5M2", 1)] {
            let bytes = Self.file(#"{"x":{"dtype":"\#(dtype)","shape":[1],"data_offsets":[0,\#(n)]}}"#, data: [UInt8](repeating: 0, count: n))
            let f = try SafetensorsFile(bytes: bytes, source: "dtypes")
            XCTAssertThrowsError(try f.tensor(f.entries[0])) { e in
                guard let e = e as? SwiftTrainError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.code, .invalidArgument, e.message)
                XCTAssertTrue(e.message.contains(dtype) && e.message.contains("'x'"), e.message)
            }
        }

        // an empty dimension beside huge ones: no bytes, but too many elements for a tensor
        let huge = Self.file(#"{"z":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}"#)
        let crash = Self.firstCrash(count: 1) { _ in _ = try? SafetensorsFile(bytes: huge, source: "huge").tensors() }
        XCTAssertNil(crash, "an empty tensor with huge dimensions crashed")
        if crash == nil {
            do {
                let f = try SafetensorsFile(bytes: huge, source: "huge")
                XCTAssertThrowsError(try f.tensors()) { e in XCTAssertEqual((e as? SwiftTrainError)?.code, .corrupt, "\(e)") }
            } catch let e as SwiftTrainError {
                XCTAssertEqual(e.code, .corrupt, e.message)
            }
        }
    }

    // MARK: - Safetensors: random damage

    static func fuzzBase() throws -> [UInt8] {
        try Safetensors.serialize(tensors: [
            ("w", try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])),
            ("idx", try Tensor(shape: [3], int64Values: [7, -8, 9])),
            ("mask", try Tensor(shape: [4], boolValues: [true, false, true, false])),
            ("s", try Tensor(shape: [], values: [0.5])),
            ("e", try Tensor(shape: [0, 3], values: [])),
        ], metadata: [("format", "pt"), ("note", "é")])
    }

    /// Damaged copies of `base`, the same on every run.
    static func fuzzInputs(_ base: [UInt8], count: Int) -> [[UInt8]] {
        var g = Generator(seed: 0x5AFE_7E45)
        let headerEnd = 8 + Int(headerLength(base))
        let interesting = Array("{}[]\",:0123456789-.eE \\uN".utf8) + [0, 0x7F, 0x80, 0xC3, 0xFF]
        var inputs: [[UInt8]] = []
        for _ in 0..<count {
            var b = base
            let rounds = 1 + g.nextInt(below: 3)
            for _ in 0..<rounds where !b.isEmpty {
                switch g.nextInt(below: 7) {
                case 0:  // flip one bit anywhere
                    let at = g.nextInt(below: b.count)
                    b[at] ^= 1 << UInt8(g.nextInt(below: 8))
                case 1:  // a random byte anywhere
                    b[g.nextInt(below: b.count)] = UInt8(truncatingIfNeeded: g.next())
                case 2:  // truncate
                    b.removeLast(b.count - g.nextInt(below: b.count))
                case 3, 4:  // a JSON-meaningful byte in the header
                    guard b.count > 8 else { break }
                    b[8 + g.nextInt(below: Swift.min(headerEnd, b.count) - 8)] = interesting[g.nextInt(below: interesting.count)]
                case 5:  // a damaged length
                    guard b.count >= 8 else { break }
                    b[g.nextInt(below: 8)] = UInt8(truncatingIfNeeded: g.next())
                default:  // insert or delete a byte
                    let at = g.nextInt(below: b.count)
                    if g.nextInt(below: 2) == 0 { b.remove(at: at) } else { b.insert(interesting[g.nextInt(below: interesting.count)], at: at) }
                }
            }
            inputs.append(b)
        }
        return inputs
    }

    func testSafetensorsRandomDamage() throws {
        let base = try Self.fuzzBase()
        XCTAssertNoThrow(try SafetensorsFile(bytes: base, source: "base").tensors())
        let inputs = Self.fuzzInputs(base, count: 5000)
        if let crash = Self.firstCrash(count: inputs.count, { i in
            if let f = try? SafetensorsFile(bytes: inputs[i], source: "fuzz") { _ = try? f.tensors() }
        }) {
            let i = crash.index
            let shown = i >= 0 && i < inputs.count ? inputs[i] : []
            XCTFail("SafetensorsFile crashed (signal \(crash.signal)) on damaged input \(i): \(shown)\n"
                + "header: \(String(decoding: shown.dropFirst(8).prefix(400), as: UTF8.self).debugDescription)")
            return
        }
        var accepted = 0, refused = 0
        for (i, b) in inputs.enumerated() {
            let f: SafetensorsFile
            do { f = try SafetensorsFile(bytes: b, source: "fuzz") } catch is SwiftTrainError { refused += 1; continue } catch {
                XCTFail("input \(i): not a SwiftTrainError: \(error)"); continue
            }
            accepted += 1
            // what was accepted is consistent with the file
            let headerEnd = 8 + Int(Self.headerLength(b))
            XCTAssertLessThanOrEqual(headerEnd, b.count, "input \(i)")
            var expected = headerEnd
            for e in f.entries {
                guard let size = Safetensors.dtypeSizes[e.dtype] else { XCTFail("input \(i): dtype \(e.dtype)"); continue }
                XCTAssertTrue(e.shape.allSatisfy { $0 >= 0 }, "input \(i): shape \(e.shape)")
                XCTAssertEqual(e.shape.reduce(1, *) * size, e.byteCount, "input \(i): '\(e.name)'")
                XCTAssertGreaterThanOrEqual(e.offset, headerEnd, "input \(i): '\(e.name)' starts in the header")
                XCTAssertLessThanOrEqual(e.offset + e.byteCount, b.count, "input \(i): '\(e.name)' ends past the file")
                XCTAssertEqual(e.offset, expected, "input \(i): '\(e.name)' is not right after the tensor before it")
                expected = e.offset + e.byteCount
            }
            XCTAssertEqual(expected, b.count, "input \(i): the tensors do not cover the data")
            do {
                let ts = try f.tensors()
                for (e, t) in zip(f.entries, ts) { XCTAssertEqual(t.tensor.count * t.tensor.dtype.size, e.byteCount, "input \(i)") }
            } catch let e as SwiftTrainError {
                XCTAssertTrue(e.code == .corrupt || e.code == .invalidArgument, "input \(i): \(e.message)")
            }
        }
        XCTAssertGreaterThan(accepted, 0, "some damage (to values) leaves a valid file")
        XCTAssertGreaterThan(refused, accepted / 4, "most damage is refused")
    }

    // MARK: - Enum names

    /// Every table of names (the ones the C API's st_enum_names lists) parses back through the
    /// core's own parsers, names each case, and names no case twice under one name.
    func testEnumNameTablesAreTheParsersTables() throws {
        func check<T: Equatable & CaseIterable>(_ table: [(String, T)], _ what: String, parse: (String) throws -> T) throws {
            XCTAssertEqual(Set(table.map(\.0)).count, table.count, "\(what): a name twice")
            for c in T.allCases { XCTAssertTrue(table.contains { $0.1 == c }, "\(what): \(c) has no name") }
            for (name, value) in table { XCTAssertEqual(try parse(name), value, "\(what) '\(name)'") }
            XCTAssertThrowsError(try parse("no_such_name"), what)
        }
        try check(Reduction.names, "reduction") { try Reduction(name: $0) }
        try check(LossKind.names, "loss") { try LossKind(name: $0) }
        try check(ActivationKind.names, "activation") { name in
            guard let hit = ActivationKind.names.first(where: { $0.0 == name }) else { throw SwiftTrainError.invalid(name) }
            XCTAssertEqual(hit.1.name, ActivationKind.names.first { $0.1 == hit.1 }!.0)
            return hit.1
        }
        try check(Comparison.names, "comparison") { name in
            guard let c = Comparison.allCases.first(where: { $0.name == name }) else { throw SwiftTrainError.invalid(name) }
            return c
        }
        try check(DType.names, "dtype") { name in
            guard let d = DType.allCases.first(where: { $0.description == name }) else { throw SwiftTrainError.invalid(name) }
            return d
        }
        func argument<T>(_ field: String, _ read: @escaping (TrainingArguments) -> T) -> (String) throws -> T {
            { name in
                var args = TrainingArguments()
                try args.set(field, name)
                return read(args)
            }
        }
        try check(TrainingArguments.optimizerNames, "optim", parse: argument("optim") { $0.optim })
        try check(TrainingArguments.schedulerNames, "lr_scheduler_type", parse: argument("lr_scheduler_type") { $0.lrSchedulerType })
        try check(TrainingArguments.strategyNames, "eval_strategy", parse: argument("eval_strategy") { $0.evalStrategy })
        try check(TrainingArguments.saveStrategyNames, "save_strategy", parse: argument("save_strategy") { $0.saveStrategy })
        try check(TrainingArguments.nonFiniteGradNormNames, "nonfinite_grad_norm",
                  parse: argument("nonfinite_grad_norm") { $0.nonFiniteGradNorm })
        try check(TrainingArguments.momentumSchedulerNames, "momentum_scheduler_type",
                  parse: argument("momentum_scheduler_type") { $0.momentumSchedulerType })
        XCTAssertEqual(MetricsLogger.Format.names.map(\.1), MetricsLogger.Format.allCases)
    }
}
