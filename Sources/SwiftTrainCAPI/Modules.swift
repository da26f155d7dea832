import CSwiftTrain
import SwiftTrain

@c @implementation
public func st_linear_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ inFeatures: Int64,
                             _ outFeatures: Int64, _ bias: Bool) -> Int32 {
    status {
        try Handle.output(out, "st_linear_create") {
            try Linear(Int(inFeatures), Int(outFeatures), bias: bias)
        }
    }
}

@c @implementation
public func st_relu_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    status { try Handle.output(out, "st_relu_create") { ReLU() } }
}

@c @implementation
public func st_sequential_create(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                 _ modules: UnsafePointer<OpaquePointer?>?, _ count: Int) -> Int32 {
    status {
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
public func st_module_num_parameters(_ out: UnsafeMutablePointer<Int64>?, _ module: OpaquePointer?) -> Int32 {
    status {
        let fn = "st_module_num_parameters"
        let m = try Handle.get(module, as: Module.self, fn, "module")
        try required(out, fn, "out").pointee = Int64(m.parameterCount)
    }
}

@c @implementation
public func st_module_free(_ module: OpaquePointer?) {
    Handle.release(module)
}
