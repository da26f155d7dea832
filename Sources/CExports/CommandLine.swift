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
    return CommandLineTool.run(arguments, out: { put($0, 1) }, err: { put($0, 2) }, progress: 2)
}

@c @implementation
public func st_trainer_create_from_config(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ config: UnsafePointer<CChar>?,
                                          _ overrides: UnsafePointer<CChar>?) -> st_status {
    status {
        out?.pointee = nil
        let fn = "st_trainer_create_from_config"
        let text = String(cString: try required(config, fn, "config"))
        let experiment = try Experiment(text: text, overrides: overrides.map { String(cString: $0) }, callbacks: false)
        let t = experiment.trainer  // (it holds the model and the datasets)
        try Handle.output(out, fn) { t }
        let handle = out!.pointee!
        StopBoard.register(t, handle: handle)
        do { try experiment.installCallbacks() } catch {  // (after the handle: C factories get it)
            StopBoard.unregister(handle)
            Handle.release(handle)
            out!.pointee = nil
            throw error
        }
    }
}

@c @implementation
public func st_config_build(_ model: UnsafeMutablePointer<OpaquePointer?>?, _ trainData: UnsafeMutablePointer<OpaquePointer?>?,
                            _ validationData: UnsafeMutablePointer<OpaquePointer?>?, _ args: UnsafeMutablePointer<st_training_args>?,
                            _ loss: UnsafeMutablePointer<st_loss>?, _ config: UnsafePointer<CChar>?,
                            _ overrides: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_config_build"
        for out in [model, trainData, validationData] { out?.pointee = nil }
        let (m, t, v) = (try required(model, fn, "model"), try required(trainData, fn, "train_data"),
                         try required(validationData, fn, "validation_data"))
        let a = try required(args, fn, "args"), l = try required(loss, fn, "loss")
        // (the callbacks that register on a trainer are st_config_add_callbacks')
        let experiment = try Experiment(text: String(cString: try required(config, fn, "config")),
                                        overrides: overrides.map { String(cString: $0) }, callbacks: false)
        let cArgs = try experiment.trainer.args.cStruct()
        m.pointee = Handle.make(experiment.model)
        t.pointee = Handle.make(experiment.trainDataset as AnyObject)
        v.pointee = experiment.validationDataset.map { Handle.make($0 as AnyObject) }
        a.pointee = cArgs
        l.pointee = st_loss(rawValue: UInt32(bitPattern: experiment.trainer.loss.rawValue))
    }
}
