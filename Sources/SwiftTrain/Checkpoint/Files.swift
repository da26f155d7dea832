import Glibc

/// The few POSIX file operations checkpoints need, each turning a failure into an `.io`
/// error that names the path and the reason (strerror), e.g. a full disk.
enum Files {
    static func failure(_ what: String, _ path: String, errno code: Int32 = errno) -> SwiftTrainError {
        let reason = String(cString: strerror(code))
        let hint = code == ENOSPC || code == EDQUOT ? "; free some space or lower save_total_limit" : ""
        return SwiftTrainError(.io, "cannot \(what) '\(path)': \(reason)\(hint)")
    }

    /// Reads the whole file; refuses files larger than `limit` bytes before allocating.
    static func read(_ path: String, limit: Int = 1 << 40) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // a FIFO must not block the open
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("stat", path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SwiftTrainError(.io, "cannot read '\(path)': not a regular file") }
        let size = Int(info.st_size)
        guard size <= limit else {
            throw SwiftTrainError(.corrupt, "'\(path)' is \(size) bytes, more than the \(limit) bytes allowed for it")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < size {
                let n = Glibc.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw failure("read", path) }
                guard n > 0 else { break }  // the file shrank while being read
                done += n
            }
        }
        guard done == size else { throw SwiftTrainError(.corrupt, "'\(path)' changed size while being read") }
        return bytes
    }

    /// Writes `bytes` to a new file at `path` (replacing one that exists) and, with
    /// `durable`, flushes it to the disk (fsync) before returning.
    static func write(_ bytes: UnsafeRawBufferPointer, to path: String, durable: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create", path) }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = n < 0 ? errno : ENOSPC
                close(fd)
                throw failure("write", path, errno: code)
            }
            done += n
        }
        if durable && fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw failure("flush", path, errno: code)
        }
        guard close(fd) == 0 else { throw failure("close", path) }
    }

    static func write(_ bytes: [UInt8], to path: String, durable: Bool) throws {
        try bytes.withUnsafeBytes { try write($0, to: path, durable: durable) }
    }

    /// Replaces `path` with `bytes` so that it is either the old file or the whole new one:
    /// written beside it, flushed, renamed over it, and the directory flushed.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            try write(bytes, to: temporary, durable: true)
            try rename(temporary, path)
        } catch {
            unlink(temporary)
            throw error
        }
        let slash = path.lastIndex(of: "/")
        try syncDirectory(slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? ".")
    }

    /// Flushes a directory's entries (new, renamed or removed files) to the disk.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("flush directory", path) }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Creates `path` and its missing parents (mkdir -p); each new directory's entry is
    /// flushed to the disk in its parent.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "." : prefix
            prefix += part
            if mkdir(prefix, 0o755) == 0 {
                try syncDirectory(parent)
            } else if errno != EEXIST {
                throw failure("create directory", prefix)
            }
            guard isDirectory(prefix) else { throw SwiftTrainError(.io, "cannot create directory '\(prefix)': a file is in the way") }
            prefix += "/"
        }
    }

    /// The names in a directory, without "." and "..".
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw failure("list directory", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file or a directory tree (rm -rf); a missing path is not an error.
    static func removeTree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw failure("remove directory", path) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw failure("remove", path) }
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw failure("rename '\(from)' to", to) }
    }

    /// `name` joined to `directory`.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
