import PublicHeader
import SwiftTrain

@c @implementation
public func st_linear_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ inFeatures: Int64,
                             _ outFeatures: Int64, _ bias: Bool) -> st_status {
    status {
        try Handle.output(out, "st_linear_create") {
            try Linear(Int(inFeatures), Int(outFeatures), bias: bias)
        }
    }
}

@c @implementation
public func st_relu_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> st_status {
    status { try Handle.output(out, "st_relu_create") { ReLU() } }
}

@c @implementation
public func st_sequential_create(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                 _ modules: UnsafePointer<OpaquePointer?>?, _ count: Int) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let fn = "st_sequential_create"
        guard count >= 0, count <= 1 << 20 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): count \(count) is out of range")
        }
        guard count == 0 || modules != nil else { throw nullArgument(fn, "modules") }
        let children = try (0..<count).map { i in
            try Handle.get(modules![i], as: Module.self, fn, "modules[\(i)]")
        }
        try Handle.output(out, fn) { try Sequential(children) }
    }
}

@c @implementation
public func st_module_num_parameters(_ out: UnsafeMutablePointer<Int64>?, _ module: OpaquePointer?) -> st_status {
    status {
        let fn = "st_module_num_parameters"
        let m = try Handle.get(module, as: Module.self, fn, "module")
        try required(out, fn, "out").pointee = Int64(m.parameterCount)
    }
}

func module(_ handle: OpaquePointer?, _ fn: String) throws -> Module {
    try Handle.get(handle, as: Module.self, fn, "module")
}

/// Stores a new module handle in `*out`.
func outputModule(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: String, _ make: () throws -> Module) -> st_status {
    status { try Handle.output(out, fn) { try make() } }
}

@c @implementation
public func st_module_forward(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ m: OpaquePointer?, _ input: OpaquePointer?) -> st_status {
    let fn = "st_module_forward"
    return outputTensor(out, fn) { try module(m, fn).forward(try tensor(input, fn, "input")) }
}

@c @implementation
public func st_module_train(_ m: OpaquePointer?, _ training: Bool) -> st_status {
    status { try module(m, "st_module_train").train(training) }
}

@c @implementation
public func st_module_named_parameters(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ m: OpaquePointer?) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let parameters = try module(m, "st_module_named_parameters").namedParameters
        try Handle.output(out, "st_module_named_parameters") { NamedTensorsBox(parameters.map { ($0.name, $0.tensor) }) }
    }
}

@c @implementation
public func st_module_state_dict(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ m: OpaquePointer?) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let state = try module(m, "st_module_state_dict").stateDict()
        try Handle.output(out, "st_module_state_dict") { NamedTensorsBox(state) }
    }
}

@c @implementation
public func st_module_load_state_dict(_ m: OpaquePointer?, _ state: OpaquePointer?, _ strict: Bool) -> st_status {
    status {
        let fn = "st_module_load_state_dict"
        let target = try module(m, fn)
        try target.loadStateDict(try Handle.get(state, as: NamedTensorsBox.self, fn, "state").dictionary, strict: strict)
    }
}

@c @implementation
public func st_module_zero_grad(_ m: OpaquePointer?) -> st_status {
    status { try module(m, "st_module_zero_grad").zeroGrad() }
}

@c @implementation
public func st_module_free(_ module: OpaquePointer?) {
    Handle.release(module)
}
