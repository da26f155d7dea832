/// Rescales all gradients together so that their global L2 norm is at most `maxNorm`
/// (torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
    var sumSquares = 0.0
    for p in parameters {
        guard let g = p.gradStorage?.base else { continue }
        var s: Float = 0
        for j in 0..<p.count { s += g[j] * g[j] }
        sumSquares += Double(s)
    }
    let norm = sumSquares.squareRoot()
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        let c = Float(coefficient)
        for p in parameters {
            guard let g = p.gradStorage?.base else { continue }
            for j in 0..<p.count { g[j] *= c }
        }
    }
    return norm
}
