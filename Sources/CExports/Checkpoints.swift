import PublicHeader
import SwiftTrain

@c @implementation
public func st_trainer_resume(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?,
                              _ checkpoint: UnsafePointer<CChar>?) -> st_status {
    status {
        out?.pointee = nil
        let t = try trainer(handle, "st_trainer_resume")
        let metrics = try StopBoard.training(t, handle) {
            try t.train(resumeFrom: checkpoint.map { .checkpoint(String(cString: $0)) } ?? .latest)
        }
        out?.pointee = Handle.make(MetricsBox(metrics))
    }
}

@c @implementation
public func st_trainer_resumed_from(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ length: UnsafeMutablePointer<Int>?,
                                    _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_trainer_resumed_from"
        try giveText(Array((try trainer(handle, fn).lastResumedFrom ?? "").utf8), buffer, capacity, length, fn)
    }
}

@c @implementation
public func st_trainer_add_callback_state(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ save: st_state_save_fn?,
                                          _ load: st_state_load_fn?, _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let fn = "st_trainer_add_callback_state"
        let t = try trainer(handle, fn)
        let key = String(cString: try required(name, fn, "name"))
        let saveFunction = try required(save, fn, "save"), loadFunction = try required(load, fn, "load")
        try t.addCallbackState(CallbackState(name: key, save: {
            var data: UnsafeRawPointer? = nil
            var size = 0
            let rc = saveFunction(userData, &data, &size)
            guard rc == 0 else { throw SwiftTrainError(.callbackAborted, "the save function of callback state '\(key)' returned \(rc)") }
            guard size >= 0, size <= 1 << 40 else {
                throw SwiftTrainError(.invalidArgument, "the save function of callback state '\(key)' gave a size of \(UInt(bitPattern: size)) bytes")
            }
            guard size == 0 || data != nil else {
                throw SwiftTrainError(.invalidArgument, "the save function of callback state '\(key)' gave \(size) bytes at NULL")
            }
            return size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size))
        }, load: { bytes in
            let rc = bytes.withUnsafeBytes { loadFunction(userData, $0.baseAddress, $0.count) }
            guard rc == 0 else { throw SwiftTrainError(.callbackAborted, "the load function of callback state '\(key)' returned \(rc)") }
        }))
    }
}

@c @implementation
public func st_trainer_save_model(_ handle: OpaquePointer?, _ directory: UnsafePointer<CChar>?) -> st_status {
    status { try trainer(handle, "st_trainer_save_model").saveModel(directory.map { String(cString: $0) }) }
}

@c @implementation
public func st_module_save_safetensors(_ module: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_module_save_safetensors"
        let m = try Handle.get(module, as: Module.self, fn, "module")
        try m.saveSafetensors(String(cString: try required(path, fn, "path")))
    }
}

@c @implementation
public func st_module_load_safetensors(_ module: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ strict: Bool) -> st_status {
    status {
        let fn = "st_module_load_safetensors"
        let m = try Handle.get(module, as: Module.self, fn, "module")
        try m.loadSafetensors(String(cString: try required(path, fn, "path")), strict: strict)
    }
}
