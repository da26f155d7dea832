import Glibc
import PlatformShims

/// Rescales all gradients together so that their global L2 norm is at most `maxNorm`
/// (torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
    let norm = gradientNorm(parameters)
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        let c = Float(coefficient)
        for p in parameters {
            guard let g = p.gradStorage?.base else { continue }
            stx_scale(g, p.count, c)
        }
    }
    return norm
}

/// torch.nn.utils.clip_grad_norm_ with its options: the total `normType`-norm of all gradients
/// (2 as above; any p > 0, or infinity for the largest magnitude), every gradient scaled by
/// min(1, maxNorm / (norm + 1e-6)). Throws (misuse: the gradients' state) when the norm is
/// NaN or infinite and `errorIfNonfinite` (nothing is changed then). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double, normType: Double,
                         errorIfNonfinite: Bool = false) throws -> Double {
    guard normType > 0, !normType.isNaN else {
        throw SwiftTrainError.invalid("clip_grad_norm_: norm_type must be positive or inf, got \(normType)")
    }
    guard !maxNorm.isNaN else { throw SwiftTrainError.invalid("clip_grad_norm_: max_norm must be a number, got nan") }
    if normType == 2 && !errorIfNonfinite { return clipGradNorm(parameters, maxNorm: maxNorm) }
    let grads = parameters.compactMap { p in p.gradStorage.map { UnsafeBufferPointer(start: $0.base, count: p.count) } }
    let norm: Double
    if normType == 2 {
        norm = gradientNorm(parameters)
    } else if normType.isInfinite {
        norm = grads.reduce(0) { m, g in g.reduce(m) { Swift.max($0, Double(Swift.abs($1))) } }
    } else {
        let sum = grads.reduce(0.0) { s, g in g.reduce(s) { $0 + Glibc.pow(Double(Swift.abs($1)), normType) } }
        norm = Glibc.pow(sum, 1 / normType)
    }
    if errorIfNonfinite && !norm.isFinite {
        throw SwiftTrainError.misuse(
            "clip_grad_norm_: the total norm of order \(normType) of the gradients is \(norm), so it cannot be clipped; "
                + "pass error_if_nonfinite=False to clip anyway (the gradients become NaN)")
    }
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 || coefficient.isNaN {
        let c = Float(coefficient)
        for p in parameters { if let g = p.gradStorage?.base { stx_scale(g, p.count, c) } }
    }
    return norm
}

/// torch.nn.utils.clip_grad_value_: every gradient element limited to [-clipValue, clipValue].
public func clipGradValue(_ parameters: [Tensor], clipValue: Double) throws {
    guard clipValue >= 0 else {
        throw SwiftTrainError.invalid("clip_grad_value_: clip_value must be non-negative, got \(clipValue)")
    }
    let limit = Float(clipValue)
    for p in parameters {
        guard let g = p.gradStorage?.base else { continue }
        for i in 0..<p.count where !g[i].isNaN { g[i] = Swift.min(Swift.max(g[i], -limit), limit) }
    }
}
