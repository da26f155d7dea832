/// Layer and batch normalisation, fused (forward keeps the statistics backward needs).
extension Tensor {
    /// torch.nn.functional.layer_norm over the last `normalizedShape.count` dimensions.
    public func layerNorm(normalizedShape: [Int], weight: Tensor?, bias: Tensor?,
                          eps: Float = LayerDefaults.layerNorm.eps) throws -> Tensor {
        try requireFloat("layer_norm")
        let k = normalizedShape.count
        guard k >= 1, k <= rank, Array(shape.suffix(k)) == normalizedShape else {
            throw SwiftTrainError.shape("layer_norm: normalized_shape \(normalizedShape) does not match the end of input shape \(shape)")
        }
        for (name, p) in [("weight", weight), ("bias", bias)] {
            if let p, p.shape != normalizedShape {
                throw SwiftTrainError.shape("layer_norm: \(name) shape \(p.shape) must equal normalized_shape \(normalizedShape)")
            }
        }
        let n = normalizedShape.reduce(1, *), rows = count / Swift.max(n, 1)
        let out = Tensor(uninitialized: shape)
        let stats = Storage(count: 2 * rows)  // mean, 1/std per row
        let x = data, y = out.data, w = weight?.data, b = bias?.data
        for r in 0..<rows {
            let row = x + r * n
            var mean: Float = 0
            for j in 0..<n { mean += row[j] }
            mean /= Float(n)
            var variance: Float = 0
            for j in 0..<n { let d = row[j] - mean; variance += d * d }
            variance /= Float(n)
            let rstd = 1 / (variance + eps).squareRoot()
            stats.base[2 * r] = mean
            stats.base[2 * r + 1] = rstd
            for j in 0..<n {
                var v = (row[j] - mean) * rstd
                if let w { v *= w[j] }
                if let b { v += b[j] }
                y[r * n + j] = v
            }
        }
        record(out, self, weight, bias) { LayerNormNode(input: self, weight: weight, bias: bias, stats: stats, n: n) }
        return out
    }

    /// torch.nn.functional.batch_norm for input [N, C, ...]: per-channel statistics over
    /// every other dimension. In training, batch statistics normalise and the running ones
    /// are updated in place (unbiased variance, `momentum`); otherwise the running ones are
    /// used.
    public func batchNorm(runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                          training: Bool = LayerDefaults.batchNorm.training,
                          momentum: Float = LayerDefaults.batchNorm.momentum, eps: Float = LayerDefaults.batchNorm.eps) throws -> Tensor {
        try requireFloat("batch_norm")
        guard rank >= 2 else { throw SwiftTrainError.shape("batch_norm: input must be [N, C, ...], got \(shape)") }
        let (n, c) = (shape[0], shape[1]), spatial = shape[2...].reduce(1, *)
        for (name, p) in [("running_mean", runningMean), ("running_var", runningVar), ("weight", weight), ("bias", bias)] {
            if let p, p.shape != [c] {
                throw SwiftTrainError.shape("batch_norm: \(name) shape \(p.shape) must be [\(c)] for input shape \(shape)")
            }
        }
        guard training || (runningMean != nil && runningVar != nil) else {
            throw SwiftTrainError.invalid("batch_norm: evaluation mode needs running_mean and running_var")
        }
        let m = n * spatial
        guard !training || m > 1 else {
            throw SwiftTrainError.invalid("batch_norm: expected more than 1 value per channel when training, got input shape \(shape)")
        }
        let out = Tensor(uninitialized: shape)
        let stats = Storage(count: 2 * c)  // mean, 1/std per channel (as used)
        let x = data, y = out.data
        for ch in 0..<c {
            var mean: Float, variance: Float
            if training {
                var s: Double = 0
                for b in 0..<n { for j in 0..<spatial { s += Double(x[(b * c + ch) * spatial + j]) } }
                mean = Float(s / Double(m))
                var v: Double = 0
                for b in 0..<n { for j in 0..<spatial { let d = Double(x[(b * c + ch) * spatial + j] - mean); v += d * d } }
                variance = Float(v / Double(m))
                if let runningMean, let runningVar {
                    runningMean.data[ch] = (1 - momentum) * runningMean.data[ch] + momentum * mean
                    runningVar.data[ch] = (1 - momentum) * runningVar.data[ch] + momentum * Float(v / Double(m - 1))
                }
            } else {
                mean = runningMean!.data[ch]
                variance = runningVar!.data[ch]
            }
            let rstd = 1 / (variance + eps).squareRoot()
            stats.base[2 * ch] = mean
            stats.base[2 * ch + 1] = rstd
            let w = weight?.data[ch] ?? 1, bb = bias?.data[ch] ?? 0
            for b in 0..<n {
                for j in 0..<spatial {
                    let i = (b * c + ch) * spatial + j
                    y[i] = (x[i] - mean) * rstd * w + bb
                }
            }
        }
        record(out, self, weight, bias) {
            BatchNormNode(input: self, weight: weight, bias: bias, stats: stats, training: training)
        }
        return out
    }
}

final class LayerNormNode: GradNode {
    let input: Tensor, weight: Tensor?, bias: Tensor?, stats: Storage, n: Int
    init(input: Tensor, weight: Tensor?, bias: Tensor?, stats: Storage, n: Int) {
        self.input = input; self.weight = weight; self.bias = bias; self.stats = stats; self.n = n
    }
    func forEachInput(_ body: (Tensor) -> Void) {
        body(input)
        if let weight { body(weight) }
        if let bias { body(bias) }
    }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let n = self.n, rows = input.count / Swift.max(n, 1), x = input.data, s = stats.base, w = weight?.data
        input.accumulateGrad { dx, beta in
            for r in 0..<rows {
                let mean = s[2 * r], rstd = s[2 * r + 1]
                var sumG: Float = 0, sumGX: Float = 0  // over g*w and g*w*xhat
                for j in 0..<n {
                    let gw = g[r * n + j] * (w?[j] ?? 1), xhat = (x[r * n + j] - mean) * rstd
                    sumG += gw
                    sumGX += gw * xhat
                }
                for j in 0..<n {
                    let i = r * n + j
                    let gw = g[i] * (w?[j] ?? 1), xhat = (x[i] - mean) * rstd
                    let v = rstd * (gw - sumG / Float(n) - xhat * sumGX / Float(n))
                    dx[i] = beta == 0 ? v : dx[i] + v
                }
            }
        }
        weight?.accumulateGrad { dw, beta in
            if beta == 0 { dw.update(repeating: 0, count: n) }
            for r in 0..<rows {
                for j in 0..<n { dw[j] += g[r * n + j] * (x[r * n + j] - s[2 * r]) * s[2 * r + 1] }
            }
        }
        bias?.accumulateGrad { db, beta in
            if beta == 0 { db.update(repeating: 0, count: n) }
            for r in 0..<rows { for j in 0..<n { db[j] += g[r * n + j] } }
        }
    }
}

final class BatchNormNode: GradNode {
    let input: Tensor, weight: Tensor?, bias: Tensor?, stats: Storage, training: Bool
    init(input: Tensor, weight: Tensor?, bias: Tensor?, stats: Storage, training: Bool) {
        self.input = input; self.weight = weight; self.bias = bias; self.stats = stats; self.training = training
    }
    func forEachInput(_ body: (Tensor) -> Void) {
        body(input)
        if let weight { body(weight) }
        if let bias { body(bias) }
    }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let (n, c) = (input.shape[0], input.shape[1]), spatial = input.shape[2...].reduce(1, *)
        let m = Float(n * spatial), x = input.data, s = stats.base
        var sumG = [Float](repeating: 0, count: c), sumGX = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            for b in 0..<n {
                for j in 0..<spatial {
                    let i = (b * c + ch) * spatial + j
                    sumG[ch] += g[i]
                    sumGX[ch] += g[i] * (x[i] - s[2 * ch]) * s[2 * ch + 1]
                }
            }
        }
        input.accumulateGrad { dx, beta in
            for ch in 0..<c {
                let w = weight?.data[ch] ?? 1, rstd = s[2 * ch + 1], mean = s[2 * ch]
                for b in 0..<n {
                    for j in 0..<spatial {
                        let i = (b * c + ch) * spatial + j
                        let v = training
                            ? w * rstd * (g[i] - sumG[ch] / m - (x[i] - mean) * rstd * sumGX[ch] / m)
                            : w * rstd * g[i]
                        dx[i] = beta == 0 ? v : dx[i] + v
                    }
                }
            }
        }
        weight?.accumulateGrad { dw, beta in for ch in 0..<c { dw[ch] = (beta == 0 ? 0 : dw[ch]) + sumGX[ch] } }
        bias?.accumulateGrad { db, beta in for ch in 0..<c { db[ch] = (beta == 0 ? 0 : db[ch]) + sumG[ch] } }
    }
}
