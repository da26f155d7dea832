import PublicHeader
import SwiftTrain
import Glibc

/// Writes a line to a file descriptor (1: stdout, 2: stderr), unbuffered.
private func put(_ line: String, _ fd: Int32) {
    let bytes = Array((line + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        done += n
    }
}

@c @implementation
public func st_cli_main(_ argc: Int32, _ argv: UnsafePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard argc >= 0, let argv else {
        put("st_cli_main: argv is NULL", 2)
        return 64
    }
    var arguments: [String] = []
    for i in 1..<Swift.max(Int(argc), 1) {
        guard let a = argv[i] else { break }
        arguments.append(String(cString: a))
    }
    return CommandLineTool.run(arguments, out: { put($0, 1) }, err: { put($0, 2) })
}

@c @implementation
public func st_trainer_create_from_config(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ config: UnsafePointer<CChar>?,
                                          _ overrides: UnsafePointer<CChar>?) -> st_status {
    status {
        out?.pointee = nil
        let fn = "st_trainer_create_from_config"
        let text = String(cString: try required(config, fn, "config"))
        let experiment = try Experiment(text: text, overrides: overrides.map { String(cString: $0) })
        let t = experiment.trainer  // (it holds the model and the datasets)
        try Handle.output(out, fn) { t }
        StopBoard.register(t, handle: out!.pointee!)
    }
}
