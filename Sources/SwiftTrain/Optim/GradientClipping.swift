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
