import Glibc
import Synchronization
import PlatformShims

/// A checkpoint directory, `output_dir/checkpoint-<global_step>/`, written so that a crash
/// at any moment leaves either the previous complete checkpoint or the new complete one:
/// the files go into a temporary directory beside it, each flushed to the disk, then a
/// manifest with every file's size and SHA-256, then the directory is flushed and renamed
/// into place and the parent flushed. Readers verify the manifest before using anything.
public enum CheckpointDirectory {
    public static let format = "swifttrain-checkpoint"
    public static let formatVersion = 1
    public static let manifestName = "manifest.json"
    public static let prefix = "checkpoint-"
    /// Temporary directories start with this and end with "-<pid>-<serial>" of the writer;
    /// they are never taken for checkpoints, and leftovers of a process that died are removed
    /// by a later save (see cleanUp).
    static let temporaryPrefix = ".tmp-checkpoint-"

    /// Collects the files of one checkpoint and commits them atomically.
    struct Writer {
        let outputDir: String
        let name: String
        let temporary: String
        private var files: [(name: String, bytes: Int, sha256: String)] = []

        init(outputDir: String, name: String) throws {
            try Files.makeDirectories(outputDir)
            try CheckpointDirectory.cleanUp(outputDir)
            self.outputDir = outputDir
            self.name = name
            // pid (to tell a dead writer's leftovers) and a counter (two trainers in one process)
            let serial = CheckpointDirectory.serial.add(1, ordering: .relaxed).newValue
            temporary = Files.join(outputDir, CheckpointDirectory.temporaryPrefix + name + "-\(getpid())-\(serial)")
            guard mkdir(temporary, 0o755) == 0 else { throw Files.failure("create directory", temporary) }
        }

        /// Writes one file, flushed, and records its checksum.
        mutating func add(_ file: String, _ bytes: [UInt8]) throws {
            try Files.write(bytes, to: Files.join(temporary, file), durable: true)
            files.append((file, bytes.count, bytes.withUnsafeBytes { SHA256.hex($0) }))
        }

        mutating func add(_ file: String, json: JSONValue) throws {
            try add(file, Array((json.serialized() + "\n").utf8))
        }

        /// Writes the manifest and moves the directory into place (replacing a checkpoint
        /// of the same name); returns its path. On failure the temporary directory is removed.
        func commit() throws -> String {
            let final = Files.join(outputDir, name)
            do {
                let manifest = JSONValue.object([
                    ("format", .string(CheckpointDirectory.format)),
                    ("format_version", .int(CheckpointDirectory.formatVersion)),
                    ("files", .object(files.map { ($0.name, .object([("bytes", .int($0.bytes)), ("sha256", .string($0.sha256))])) })),
                ])
                try Files.write(Array((manifest.serialized() + "\n").utf8), to: Files.join(temporary, CheckpointDirectory.manifestName), durable: true)
                try Files.syncDirectory(temporary)
                if Files.exists(final) {
                    // Swap atomically, so the old one stays whole until the new one is in place.
                    if stx_rename_exchange(temporary, final) != 0 {
                        // The file system cannot: move the old one aside under a name that
                        // cleanUp() puts back if we die before the new one is in place.
                        let aside = temporary + CheckpointDirectory.asideSuffix
                        try Files.rename(final, aside)
                        do { try Files.rename(temporary, final) } catch {
                            try? Files.rename(aside, final)
                            throw error
                        }
                        try Files.syncDirectory(outputDir)
                        // Renamed before deleting: a half-deleted copy must never be put back.
                        let serial = CheckpointDirectory.serial.add(1, ordering: .relaxed).newValue
                        let doomed = Files.join(outputDir, CheckpointDirectory.temporaryPrefix + "deleted-\(name)-\(getpid())-\(serial)")
                        try Files.rename(aside, doomed)
                        try Files.removeTree(doomed)
                    } else {
                        try Files.removeTree(temporary)
                    }
                } else {
                    try Files.rename(temporary, final)
                }
                try Files.syncDirectory(outputDir)
            } catch {
                try? Files.removeTree(temporary)
                throw error
            }
            return final
        }

        func abandon() { try? Files.removeTree(temporary) }
    }

    static let serial = Atomic<Int>(0)
    /// Ends the name of a replaced checkpoint moved aside while its replacement is renamed in.
    static let asideSuffix = "-replaced"

    /// Removes what writers that died left in `outputDir`: temporary directories of processes
    /// that no longer exist and were last changed over a minute ago (a writer on another
    /// machine or in another pid namespace sharing the directory looks dead; the minute
    /// keeps its save safe). A replaced checkpoint moved aside whose replacement never
    /// arrived is put back under its name.
    static func cleanUp(_ outputDir: String) throws {
        for entry in try Files.list(outputDir) where entry.hasPrefix(temporaryPrefix) {
            let path = Files.join(outputDir, entry)
            let aside = entry.hasSuffix(asideSuffix)
            let parts = (aside ? String(entry.dropLast(asideSuffix.count)) : entry).split(separator: "-")
            guard parts.count >= 2, let pid = Int32(parts[parts.count - 2]) else { continue }
            if pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            if aside {
                // .tmp-checkpoint-<name>-<pid>-<serial>-replaced: its writer died between moving
                // it aside and renaming the new one in; put it back.
                let name = parts.dropFirst(2).dropLast(2).joined(separator: "-")
                let final = Files.join(outputDir, name)
                if name.hasPrefix(prefix), !Files.exists(final) {
                    try Files.rename(path, final)
                    try Files.syncDirectory(outputDir)
                    continue
                }
            }
            var info = stat()  // (the change time: a rename does not touch the modification time)
            guard lstat(path, &info) == 0, time(nil) - info.st_ctim.tv_sec > 60 else { continue }
            try Files.removeTree(path)
        }
    }

    /// A checkpoint whose manifest and files were verified; the files' bytes, as read.
    public struct Contents {
        public let path: String
        let files: [String: [UInt8]]

        public func bytes(_ name: String) -> [UInt8]? { files[name] }

        public func has(_ name: String) -> Bool { files[name] != nil }

        /// The file as JSON; `.corrupt` naming it when it is missing or not JSON.
        public func json(_ name: String) throws -> JSONValue {
            guard let b = files[name] else { throw SwiftTrainError(.corrupt, "checkpoint '\(path)' has no \(name)") }
            do { return try JSONValue.parse(b) } catch let e as SwiftTrainError {
                throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(name) is not valid JSON (\(e.message))")
            }
        }

        public func safetensors(_ name: String) throws -> SafetensorsFile {
            guard let b = files[name] else { throw SwiftTrainError(.corrupt, "checkpoint '\(path)' has no \(name)") }
            return try SafetensorsFile(bytes: b, source: Files.join(path, name))
        }
    }

    /// Reads a checkpoint and verifies every file against its manifest: present, the right
    /// size, the right SHA-256, and `required` among them. Errors name the file at fault.
    public static func open(_ path: String, required: [String] = []) throws -> Contents {
        guard Files.isDirectory(path) else {
            throw SwiftTrainError(.notFound, "checkpoint '\(path)' does not exist or is not a directory")
        }
        let manifestPath = Files.join(path, manifestName)
        guard Files.exists(manifestPath) else {
            throw SwiftTrainError(.corrupt, "checkpoint '\(path)' has no \(manifestName): it is incomplete or was not written by swifttrain")
        }
        let manifest: JSONValue
        do { manifest = try JSONValue.parse(try Files.read(manifestPath, limit: 1 << 20)) } catch let e as SwiftTrainError {
            throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(manifestName) is damaged (\(e.message))")
        }
        guard manifest["format"]?.stringValue == format, let version = manifest["format_version"]?.intValue else {
            throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(manifestName) is not a swifttrain checkpoint manifest")
        }
        guard version <= formatVersion else {
            throw SwiftTrainError(.invalidArgument, "checkpoint '\(path)' has format version \(version); this swifttrain reads up to "
                + "\(formatVersion): upgrade swifttrain to read it")
        }
        guard let listed = manifest["files"]?.objectValue else {
            throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(manifestName) lists no files")
        }
        var files: [String: [UInt8]] = [:]
        for (name, info) in listed {
            guard !name.isEmpty, !name.contains("/"), name != manifestName, name != ".", name != "..",
                  let size = info["bytes"]?.intValue, size >= 0, let sha = info["sha256"]?.stringValue else {
                throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(manifestName) has an invalid entry '\(name)'")
            }
            let file = Files.join(path, name)
            guard Files.exists(file) else { throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(name) is missing") }
            let bytes: [UInt8]
            do { bytes = try Files.read(file, limit: size) } catch let e as SwiftTrainError where e.code == .corrupt {
                throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(name) is larger than the \(size) bytes its manifest says")
            }
            guard bytes.count == size else {
                throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(name) has \(bytes.count) bytes, its manifest says \(size): it is truncated")
            }
            guard bytes.withUnsafeBytes({ SHA256.hex($0) }) == sha else {
                throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(name) does not match its SHA-256 in the manifest: it is damaged")
            }
            files[name] = bytes
        }
        for name in required where files[name] == nil {
            throw SwiftTrainError(.corrupt, "checkpoint '\(path)': \(manifestName) does not list \(name)")
        }
        return Contents(path: path, files: files)
    }

    /// The checkpoints in `outputDir` (`checkpoint-<step>` directories), by increasing step.
    public static func list(_ outputDir: String) throws -> [(step: Int, path: String)] {
        guard Files.isDirectory(outputDir) else { return [] }
        return try Files.list(outputDir).compactMap { name -> (Int, String)? in
            guard name.hasPrefix(prefix), let step = Int(name.dropFirst(prefix.count)), step >= 0,
                  String(step) == name.dropFirst(prefix.count) else { return nil }
            let path = Files.join(outputDir, name)
            return Files.isDirectory(path) ? (step, path) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// The newest checkpoint in `outputDir` that verifies, and why each newer one was passed
    /// over. Throws `.notFound` when there is none.
    public static func latestValid(_ outputDir: String, required: [String] = []) throws -> (contents: Contents, skipped: [String]) {
        var skipped: [String] = []
        for (_, path) in try list(outputDir).reversed() {
            do { return (try open(path, required: required), skipped) } catch let e as SwiftTrainError {
                skipped.append(e.message)
            }
        }
        let why = skipped.isEmpty ? "" : " (passed over: " + skipped.joined(separator: "; ") + ")"
        throw SwiftTrainError(.notFound, "no valid checkpoint in '\(outputDir)' to resume from\(why)")
    }
}
