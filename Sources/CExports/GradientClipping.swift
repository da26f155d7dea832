import PublicHeader
import SwiftTrain

// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ over parameter handles.

/// The tensors of a C array of parameters (count may be 0, as torch allows an empty list).
private func parameterList(_ parameters: UnsafePointer<OpaquePointer?>?, _ count: Int, _ fn: String) throws -> [Tensor] {
    count == 0 ? [] : try tensorList(parameters, count, fn)
}

@c @implementation
public func st_clip_grad_norm(_ outNorm: UnsafeMutablePointer<Double>?, _ parameters: UnsafePointer<OpaquePointer?>?,
                              _ count: Int, _ maxNorm: Double, _ normType: Double, _ errorIfNonfinite: Bool) -> st_status {
    status {
        let fn = "st_clip_grad_norm"
        let out = try required(outNorm, fn, "out_norm")
        out.pointee = try clipGradNorm(try parameterList(parameters, count, fn), maxNorm: maxNorm, normType: normType,
                                       errorIfNonfinite: errorIfNonfinite)
    }
}

@c @implementation
public func st_clip_grad_value(_ parameters: UnsafePointer<OpaquePointer?>?, _ count: Int, _ clipValue: Double) -> st_status {
    status { try clipGradValue(try parameterList(parameters, count, "st_clip_grad_value"), clipValue: clipValue) }
}
