import PublicHeader
import SwiftTrain

// Tensor operations: each entry point checks its handles and translates to the core.

func unaryOp(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ fn: String,
             _ body: (Tensor) throws -> Tensor) -> st_status {
    outputTensor(out, fn) { try body(try tensor(a, fn, "a")) }
}

func binaryOp(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?, _ fn: String,
              _ body: (Tensor, Tensor) throws -> Tensor) -> st_status {
    outputTensor(out, fn) { try body(try tensor(a, fn, "a"), try tensor(b, fn, "b")) }
}

func reductionArgument(_ r: st_reduction, _ fn: String) throws -> Reduction {
    guard let value = Reduction(rawValue: Int32(bitPattern: r.rawValue)) else {
        throw SwiftTrainError(.invalidArgument, "\(fn): unknown reduction \(Int32(bitPattern: r.rawValue)); use ST_REDUCTION_NONE, ST_REDUCTION_MEAN or ST_REDUCTION_SUM")
    }
    return value
}

/// An optional index argument (ST_NO_INDEX for none).
func optionalIndex(_ value: Int64) -> Int? { value == Int64.min ? nil : Int(value) }

@c @implementation
public func st_add(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_add") { try $0 + $1 }
}

@c @implementation
public func st_sub(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_sub") { try $0 - $1 }
}

@c @implementation
public func st_mul(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_mul") { try $0 * $1 }
}

@c @implementation
public func st_div(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_div") { try $0 / $1 }
}

@c @implementation
public func st_pow(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_pow") { try $0.pow($1) }
}

@c @implementation
public func st_maximum(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_maximum") { try $0.maximum($1) }
}

@c @implementation
public func st_minimum(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_minimum") { try $0.minimum($1) }
}

@c @implementation
public func st_matmul(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_matmul") { try $0.matmul($1) }
}

@c @implementation
public func st_neg(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_neg") { try -$0 }
}

@c @implementation
public func st_exp(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_exp") { try $0.exp() }
}

@c @implementation
public func st_log(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_log") { try $0.log() }
}

@c @implementation
public func st_sqrt(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_sqrt") { try $0.sqrt() }
}

@c @implementation
public func st_rsqrt(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_rsqrt") { try $0.rsqrt() }
}

@c @implementation
public func st_abs(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_abs") { try $0.abs() }
}

@c @implementation
public func st_relu(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_relu") { try $0.relu() }
}

@c @implementation
public func st_silu(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_silu") { try $0.silu() }
}

@c @implementation
public func st_tanh(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_tanh") { try $0.tanh() }
}

@c @implementation
public func st_sigmoid(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status {
    unaryOp(out, a, "st_sigmoid") { try $0.sigmoid() }
}

@c @implementation
public func st_add_scalar(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ value: Float) -> st_status {
    unaryOp(out, a, "st_add_scalar") { try $0 + value }
}

@c @implementation
public func st_mul_scalar(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ value: Float) -> st_status {
    unaryOp(out, a, "st_mul_scalar") { try $0 * value }
}

@c @implementation
public func st_pow_scalar(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ exponent: Float) -> st_status {
    unaryOp(out, a, "st_pow_scalar") { try $0.pow(exponent) }
}

@c @implementation
public func st_leaky_relu(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ negativeSlope: Float) -> st_status {
    unaryOp(out, a, "st_leaky_relu") { try $0.leakyRelu(negativeSlope: negativeSlope) }
}

@c @implementation
public func st_clamp(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ low: Float, _ high: Float) -> st_status {
    unaryOp(out, a, "st_clamp") {
        guard !(low > high) else { throw SwiftTrainError(.invalidArgument, "st_clamp: min \(low) is greater than max \(high)") }
        return try $0.clamp(min: low == -.infinity ? nil : low, max: high == .infinity ? nil : high)
    }
}

@c @implementation
public func st_where(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ condition: OpaquePointer?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> st_status {
    let fn = "st_where"
    return outputTensor(out, fn) {
        try `where`(try tensor(condition, fn, "condition"), try tensor(a, fn, "a"), try tensor(b, fn, "b"))
    }
}

@c @implementation
public func st_compare(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ op: st_comparison, _ b: OpaquePointer?) -> st_status {
    binaryOp(out, a, b, "st_compare") {
        let raw = Int32(bitPattern: op.rawValue)
        guard let comparison = Comparison(rawValue: raw) else {
            throw SwiftTrainError(.invalidArgument, "st_compare: unknown comparison \(raw); use ST_EQ ... ST_GE")
        }
        return try $0.compare(comparison, $1)
    }
}

@c @implementation
public func st_gelu(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ tanhApproximation: Bool) -> st_status {
    unaryOp(out, a, "st_gelu") { try $0.gelu(approximateTanh: tanhApproximation) }
}

@c @implementation
public func st_softplus(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ beta: Float, _ threshold: Float) -> st_status {
    unaryOp(out, a, "st_softplus") { try $0.softplus(beta: beta, threshold: threshold) }
}

@c @implementation
public func st_softmax(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64) -> st_status {
    unaryOp(out, a, "st_softmax") { try $0.softmax(dim: Int(dim)) }
}

@c @implementation
public func st_log_softmax(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64) -> st_status {
    unaryOp(out, a, "st_log_softmax") { try $0.logSoftmax(dim: Int(dim)) }
}

@c @implementation
public func st_sum(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dims: UnsafePointer<Int64>?, _ ndims: Int, _ keepdim: Bool) -> st_status {
    unaryOp(out, a, "st_sum") {
        let d = try intList(dims, ndims, "st_sum", "dims")
        return try $0.sum(dims: d.isEmpty ? nil : d, keepdim: keepdim)
    }
}

@c @implementation
public func st_mean(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dims: UnsafePointer<Int64>?, _ ndims: Int, _ keepdim: Bool) -> st_status {
    unaryOp(out, a, "st_mean") {
        let d = try intList(dims, ndims, "st_mean", "dims")
        return try $0.mean(dims: d.isEmpty ? nil : d, keepdim: keepdim)
    }
}

@c @implementation
public func st_var(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dims: UnsafePointer<Int64>?, _ ndims: Int, _ correction: Int64,
                   _ keepdim: Bool) -> st_status {
    unaryOp(out, a, "st_var") {
        let d = try intList(dims, ndims, "st_var", "dims")
        return try $0.variance(dims: d.isEmpty ? nil : d, correction: Int(correction), keepdim: keepdim)
    }
}

@c @implementation
public func st_std(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dims: UnsafePointer<Int64>?, _ ndims: Int, _ correction: Int64,
                   _ keepdim: Bool) -> st_status {
    unaryOp(out, a, "st_std") {
        let d = try intList(dims, ndims, "st_std", "dims")
        return try $0.std(dims: d.isEmpty ? nil : d, correction: Int(correction), keepdim: keepdim)
    }
}

@c @implementation
public func st_max_dim(_ outValues: UnsafeMutablePointer<OpaquePointer?>?, _ outIndices: UnsafeMutablePointer<OpaquePointer?>?,
                   _ a: OpaquePointer?, _ dim: Int64, _ keepdim: Bool) -> st_status {
    status {
        let fn = "st_max_dim"
        let values = try required(outValues, fn, "out_values"), indices = try required(outIndices, fn, "out_indices")
        values.pointee = nil
        indices.pointee = nil
        let r = try tensor(a, fn, "a").max(dim: Int(dim), keepdim: keepdim)
        values.pointee = Handle.make(r.values)
        indices.pointee = Handle.make(r.indices)
    }
}

@c @implementation
public func st_topk(_ outValues: UnsafeMutablePointer<OpaquePointer?>?, _ outIndices: UnsafeMutablePointer<OpaquePointer?>?,
                    _ a: OpaquePointer?, _ k: Int64, _ dim: Int64, _ largest: Bool, _ sorted: Bool) -> st_status {
    status {
        let fn = "st_topk"
        let values = try required(outValues, fn, "out_values"), indices = try required(outIndices, fn, "out_indices")
        values.pointee = nil
        indices.pointee = nil
        guard k >= 0, k <= Int64(Int32.max) else { throw SwiftTrainError(.invalidArgument, "st_topk: k must be between 0 and 2^31, got \(k)") }
        let r = try tensor(a, fn, "a").topk(Int(k), dim: Int(dim), largest: largest, sorted: sorted)
        values.pointee = Handle.make(r.values)
        indices.pointee = Handle.make(r.indices)
    }
}

@c @implementation
public func st_min_dim(_ outValues: UnsafeMutablePointer<OpaquePointer?>?, _ outIndices: UnsafeMutablePointer<OpaquePointer?>?,
                   _ a: OpaquePointer?, _ dim: Int64, _ keepdim: Bool) -> st_status {
    status {
        let fn = "st_min_dim"
        let values = try required(outValues, fn, "out_values"), indices = try required(outIndices, fn, "out_indices")
        values.pointee = nil
        indices.pointee = nil
        let r = try tensor(a, fn, "a").min(dim: Int(dim), keepdim: keepdim)
        values.pointee = Handle.make(r.values)
        indices.pointee = Handle.make(r.indices)
    }
}

@c @implementation
public func st_max(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status { unaryOp(out, a, "st_max") { try $0.max() } }

@c @implementation
public func st_min(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?) -> st_status { unaryOp(out, a, "st_min") { try $0.min() } }

@c @implementation
public func st_argmax(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ a: OpaquePointer?, _ dim: Int64, _ keepdim: Bool) -> st_status {
    unaryOp(out, a, "st_argmax") { try $0.argmax(dim: optionalIndex(dim), keepdim: keepdim) }
}
