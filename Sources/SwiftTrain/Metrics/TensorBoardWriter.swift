import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TensorBoard event files, written natively (no TensorFlow, no protobuf library): a file
/// `events.out.tfevents.<seconds>.<host>` of TFRecords, each an `Event` protocol buffer, the
/// first with `file_version` "brain.Event:2", then one per logged step with a `Summary` of
/// scalar values (`simple_value`), which TensorBoard's scalar dashboard reads.
///
/// Names follow HF's TensorBoardCallback: "eval_loss" is written as "eval/loss", "test_*" as
/// "test/*", every other name as "train/<name>". Each record is flushed when written, so the
/// dashboard sees a run while it trains.
public final class TensorBoardWriter {
    public let path: String
    private var file: UnsafeMutablePointer<FILE>?
    private static let files = Atomic<Int>(0)

    /// Creates `directory` (and its parents) and a new event file in it; throws `.io` naming
    /// the path when it cannot.
    public init(directory: String) throws {
        guard !directory.isEmpty else { throw SwiftTrainError.invalid("TensorBoard: logging_dir is empty") }
        try Files.makeDirectories(directory)
        var seconds = timespec()
        clock_gettime(CLOCK_REALTIME, &seconds)
        // (the process id and a counter, as TensorFlow's writer: runs in one directory never share a file)
        let number = Self.files.add(1, ordering: .relaxed).newValue
        path = Files.join(directory, "events.out.tfevents.\(seconds.tv_sec).\(Self.hostName()).\(getpid()).\(number)")
        guard let f = fopen(path, "wbx") else { throw Files.failure("TensorBoard: cannot create", path) }
        file = f
        var event = Self.eventHeader(wallTime: Self.wallTime(), step: 0)
        Self.field(3, string: "brain.Event:2", into: &event)
        try record(event)
    }

    deinit { if let file { fclose(file) } }

    /// Writes the numbers logged at `step` as scalars (HF's names, above).
    public func write(_ metrics: Metrics, step: Int) throws {
        var summary: [UInt8] = []
        for (name, value) in metrics where name != "step" {
            var entry: [UInt8] = []
            Self.field(1, string: Self.tag(name), into: &entry)
            entry.append(0x15)  // field 2, 32-bit: simple_value
            withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { entry += $0 }
            Self.field(1, bytes: entry, into: &summary)
        }
        var event = Self.eventHeader(wallTime: Self.wallTime(), step: step)
        Self.field(5, bytes: summary, into: &event)
        try record(event)
    }

    /// HF's rewrite_logs: eval_x -> eval/x, test_x -> test/x, x -> train/x.
    public static func tag(_ name: String) -> String {
        for prefix in ["eval_", "test_"] where name.hasPrefix(prefix) {
            return prefix.dropLast() + "/" + name.dropFirst(prefix.count)
        }
        return "train/" + name
    }

    /// The callback to register for LOG events (the trainer does, for report_to tensorboard).
    public var callback: TrainerCallback {
        { [self] _, state, _, metrics in
            if let metrics { try write(metrics, step: state.globalStep) }
        }
    }

    // MARK: - TFRecord and protocol-buffer encoding

    /// A TFRecord: the length (8 bytes), its masked CRC-32C, the data, the data's masked CRC-32C.
    private func record(_ data: [UInt8]) throws {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { out += $0 }
        withUnsafeBytes(of: Self.maskedCRC(out).littleEndian) { out += $0 }
        out += data
        withUnsafeBytes(of: Self.maskedCRC(data).littleEndian) { out += $0 }
        guard let file, fwrite(out, 1, out.count, file) == out.count, fflush(file) == 0 else {
            throw Files.failure("TensorBoard: cannot write", path)
        }
    }

    private static func eventHeader(wallTime: Double, step: Int) -> [UInt8] {
        var event: [UInt8] = [0x09]  // field 1, 64-bit: wall_time
        withUnsafeBytes(of: wallTime.bitPattern.littleEndian) { event += $0 }
        event.append(0x10)  // field 2, varint: step
        varint(UInt64(bitPattern: Int64(step)), into: &event)
        return event
    }

    private static func field(_ number: UInt8, bytes: [UInt8], into out: inout [UInt8]) {
        out.append(number << 3 | 2)  // length-delimited
        varint(UInt64(bytes.count), into: &out)
        out += bytes
    }

    private static func field(_ number: UInt8, string: String, into out: inout [UInt8]) {
        field(number, bytes: Array(string.utf8), into: &out)
    }

    private static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// CRC-32C (Castagnoli), masked as TFRecord does: rotated right by 15, plus 0xa282ead8.
    static func maskedCRC(_ data: [UInt8]) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    static func crc32c(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    private static func wallTime() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func hostName() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}

extension TrainingArguments {
    /// `loggingDir`, or HF's default: output_dir/runs/<Mon>DD_HH-MM-SS_<host> at this moment.
    public func resolvedLoggingDir() -> String {
        guard loggingDir.isEmpty else { return loggingDir }
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%b%d_%H-%M-%S", &parts)
        let stamp = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Files.join(Files.join(outputDir.isEmpty ? "." : outputDir, "runs"),
                          stamp + "_" + TensorBoardWriter.hostName())
    }
}
