import PlatformShims
import PublicHeader
import SwiftTrain

// Model and callback types of configs registered from C (and so from Python): the core's one
// registry (ConfigRegistry), process-wide behind its lock. A factory's failure is reported at
// the key path of the object it was building, with the factory's message.

/// Runs a host's factory; a non-zero status becomes an error with its message
/// (st_set_last_error_message, or the failing st_* call's).
private func callFactory(_ type: String, _ body: () -> st_status) throws {
    stx_set_last_error("")
    let rc = body()
    guard rc != ST_OK else { return }
    let message = String(cString: stx_last_error())
    throw SwiftTrainError(.invalidArgument, "the factory of \"\(type)\" failed (\(String(cString: st_status_string(rc.rawValue)!)))"
        + (message.isEmpty ? "; it set no message (st_set_last_error_message explains a failure)" : ": \(message)"))
}

/// A C string argument that must be a registry name.
private func typeName(_ type: UnsafePointer<CChar>?, _ fn: String) throws -> String {
    String(cString: try required(type, fn, "type"))
}

@c @implementation
public func st_config_register_model(_ type: UnsafePointer<CChar>?, _ make: st_config_model_fn?,
                                     _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let fn = "st_config_register_model"
        let name = try typeName(type, fn)
        let function = try required(make, fn, "make")
        let data = UInt(bitPattern: userData)  // (the host's; a number, so the factory is Sendable)
        do {
            try ConfigRegistry.registerHostLayer(name) { arguments in
                var out: OpaquePointer?
                do {
                    try callFactory(name) { arguments.withCString { function(&out, $0, UnsafeMutableRawPointer(bitPattern: data)) } }
                } catch {
                    Handle.release(out)  // (a module set before failing is the library's to free)
                    throw error
                }
                guard let out else {
                    throw SwiftTrainError(.invalidArgument, "the factory of \"\(name)\" returned ST_OK without a module in *out")
                }
                defer { Handle.release(out) }  // the library keeps its own reference
                return try Handle.get(out, as: Module.self, "the factory of \"\(name)\"", "*out")
            }
        } catch var error as SwiftTrainError {
            error.message = "\(fn): " + error.message
            throw error
        }
    }
}

@c @implementation
public func st_config_register_callback(_ type: UnsafePointer<CChar>?, _ make: st_config_callback_fn?,
                                        _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let fn = "st_config_register_callback"
        let name = try typeName(type, fn)
        let function = try required(make, fn, "make")
        let data = UInt(bitPattern: userData)
        do {
            try ConfigRegistry.registerHostCallback(name) { arguments, trainer in
                // the host's handle of the trainer, or (the command line's trainer) one that
                // does not keep it alive: callbacks registered on it get it in st_event_data
                let handle = Handle.existing(trainer) ?? Handle.makeWeak(trainer)
                try callFactory(name) { arguments.withCString { function(handle, $0, UnsafeMutableRawPointer(bitPattern: data)) } }
            }
        } catch var error as SwiftTrainError {
            error.message = "\(fn): " + error.message
            throw error
        }
    }
}

@c @implementation
public func st_config_unregister_model(_ type: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_config_unregister_model"
        do { try ConfigRegistry.unregisterHostLayer(try typeName(type, fn)) } catch var error as SwiftTrainError {
            error.message = "\(fn): " + error.message
            throw error
        }
    }
}

@c @implementation
public func st_config_unregister_callback(_ type: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_config_unregister_callback"
        do { try ConfigRegistry.unregisterHostCallback(try typeName(type, fn)) } catch var error as SwiftTrainError {
            error.message = "\(fn): " + error.message
            throw error
        }
    }
}

@c @implementation
public func st_config_add_callbacks(_ handle: OpaquePointer?, _ config: UnsafePointer<CChar>?,
                                    _ overrides: UnsafePointer<CChar>?) -> st_status {
    status {
        let fn = "st_config_add_callbacks"
        let t = try trainer(handle, fn)
        let text = String(cString: try required(config, fn, "config"))
        try Experiment.addCallbacks(text: text, overrides: overrides.map { String(cString: $0) }, to: t)
    }
}

@c @implementation
public func st_set_last_error_message(_ message: UnsafePointer<CChar>?) {
    stx_set_last_error(message.map { String(cString: $0) } ?? "")
}

@c @implementation
public func st_module_share(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ module: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_share"
        out?.pointee = nil
        let m = try Handle.get(module, as: Module.self, fn, "module")
        try Handle.output(out, fn) { m }
    }
}
