import PublicHeader
import SwiftTrain

/// A HostModule whose forward is a C function pointer.
private func cForward(_ forward: st_forward_fn, _ userData: UserData, typeName: String) -> HostModule.Forward {
    { batch, module in
        let outputs = OutputsBox()
        try lend(BatchBox(batch, writable: false)) { b in
            try lend(outputs) { o in
                try callHost("the forward of \(typeName)") { forward(o, b, module.isTraining, userData.pointer) }
            }
        }
        guard let output = outputs.output else {
            throw SwiftTrainError(.invalidArgument, "the forward set no outputs; set \"logits\" (and optionally \"loss\") with st_outputs_set")
        }
        return output
    }
}

@c @implementation
public func st_module_create_custom(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ typeName: UnsafePointer<CChar>?,
                                    _ forward: st_forward_fn?, _ userData: UnsafeMutableRawPointer?,
                                    _ freeUserData: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) -> st_status {
    status {
        let fn = "st_module_create_custom"
        out?.pointee = nil
        guard let out else { throw nullArgument(fn, "out") }
        let name = String(cString: try required(typeName, fn, "type_name"))
        let function = try required(forward, fn, "forward")
        guard !name.isEmpty else { throw SwiftTrainError(.invalidArgument, "\(fn): type_name is empty") }
        // (only now, with every check passed: on failure free_user_data is never called)
        let owner = UserData(userData, free: freeUserData)
        out.pointee = Handle.make(HostModule(typeName: name, forward: cForward(function, owner, typeName: name)))
    }
}

private func hostModule(_ handle: OpaquePointer?, _ fn: String) throws -> HostModule {
    guard let m = try Handle.get(handle, as: Module.self, fn, "module") as? HostModule else {
        throw SwiftTrainError(.invalidArgument, "\(fn): module is a built-in module; only a custom module "
            + "(st_module_create_custom) declares parameters and children")
    }
    return m
}

@c @implementation
public func st_module_add_parameter(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_add_parameter"
        let m = try hostModule(handle, fn)
        try m.addParameter(String(cString: try required(name, fn, "name")), try tensor(t, fn, "tensor"))
    }
}

@c @implementation
public func st_module_add_buffer(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ t: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_add_buffer"
        let m = try hostModule(handle, fn)
        try m.addBuffer(String(cString: try required(name, fn, "name")), try tensor(t, fn, "tensor"))
    }
}

@c @implementation
public func st_module_add_child(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ child: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_add_child"
        let m = try hostModule(handle, fn)
        let c = try Handle.get(child, as: Module.self, fn, "child")
        try m.addChild(String(cString: try required(name, fn, "name")), c)
    }
}

@c @implementation
public func st_module_adopt(_ handle: OpaquePointer?, _ module: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_adopt"
        let m = try hostModule(handle, fn)
        try m.adopt(try Handle.get(module, as: Module.self, fn, "module"))
    }
}

@c @implementation
public func st_module_forward_batch(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ outLoss: UnsafeMutablePointer<OpaquePointer?>?,
                                    _ handle: OpaquePointer?, _ batch: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_forward_batch"
        out?.pointee = nil
        outLoss?.pointee = nil
        let m = try Handle.get(handle, as: Module.self, fn, "module")
        let b = try Handle.get(batch, as: BatchBox.self, fn, "batch")
        guard let out else { throw nullArgument(fn, "out") }
        let output = try m.forward(batch: b.batch)
        guard let logits = output.logits else {
            throw SwiftTrainError(.notFound, "\(fn): the module returned no logits, only \(output.names.joined(separator: ", "))")
        }
        out.pointee = Handle.make(logits)
        if let outLoss, let loss = output.loss { outLoss.pointee = Handle.make(loss) }
    }
}

@c @implementation
public func st_trainer_set_compute_loss(_ handle: OpaquePointer?, _ function: st_loss_fn?, _ userData: UnsafeMutableRawPointer?) -> st_status {
    status {
        let t = try trainer(handle, "st_trainer_set_compute_loss")
        guard let function else {
            t.computeLoss = nil
            return
        }
        t.computeLoss = { output, batch, _ in
            var result: OpaquePointer?
            defer { Handle.release(result) }  // (also when the function failed after setting it)
            try lend(OutputsBox(output)) { o in
                try lend(BatchBox(batch, writable: false)) { b in
                    try callHost("the compute-loss function") { function(&result, o, b, userData) }
                }
            }
            guard let result else {
                throw SwiftTrainError(.invalidArgument, "the compute-loss function returned 0 but set no loss tensor")
            }
            return try tensor(result, "the compute-loss function", "loss")
        }
    }
}
