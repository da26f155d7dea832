/// 2-D convolution (im2col + sgemm, one GEMM per sample and group) and pooling, for input
/// [N, C, H, W] as in PyTorch.
public struct Conv2dOptions: Sendable, Equatable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int
    /// (v, v): torch's int for both dimensions.
    public static func pair(_ v: Int) -> (Int, Int) { (v, v) }
    public init(stride: (Int, Int) = Self.pair(LayerDefaults.conv2d.stride), padding: (Int, Int) = Self.pair(LayerDefaults.conv2d.padding),
                dilation: (Int, Int) = Self.pair(LayerDefaults.conv2d.dilation), groups: Int = LayerDefaults.conv2d.groups) {
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }
    public static func == (a: Self, b: Self) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups
    }
}

/// The geometry of one convolution or pooling window sweep.
struct WindowGeometry {
    let channels: Int, height: Int, width: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int
    let outHeight: Int, outWidth: Int

    init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
         dilation: (Int, Int), ceilMode: Bool = false, op: String) throws {
        guard kernel.0 > 0, kernel.1 > 0, stride.0 > 0, stride.1 > 0, dilation.0 > 0, dilation.1 > 0,
              padding.0 >= 0, padding.1 >= 0 else {
            throw SwiftTrainError.invalid("\(op): kernel, stride and dilation must be positive and padding >= 0")
        }
        self.channels = channels; self.height = height; self.width = width
        (kh, kw) = kernel; (sh, sw) = stride; (ph, pw) = padding; (dh, dw) = dilation
        guard height + 2 * ph - dh * (kh - 1) - 1 >= 0, width + 2 * pw - dw * (kw - 1) - 1 >= 0 else {
            throw SwiftTrainError.shape("\(op): the kernel (\(kh), \(kw)) with dilation (\(dh), \(dw)) does not fit input "
                + "\(height)x\(width) with padding (\(ph), \(pw))")
        }
        // PyTorch's output size; with ceil mode the last window must still start inside the
        // input or its left/top padding.
        func size(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int {
            let span = n + 2 * p - d * (k - 1) - 1
            var out = (ceilMode ? (span + s - 1) / s : span / s) + 1
            if ceilMode && (out - 1) * s >= n + p { out -= 1 }
            return out
        }
        outHeight = size(height, kh, sh, ph, dh)
        outWidth = size(width, kw, sw, pw, dw)
    }

    var patch: Int { channels * kh * kw }
    var positions: Int { outHeight * outWidth }

    /// cols [channels * kh * kw, outHeight * outWidth] of one image [channels, height, width].
    func im2col(_ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            for ki in 0..<kh {
                for kj in 0..<kw {
                    let row = cols + ((c * kh + ki) * kw + kj) * positions
                    for oy in 0..<outHeight {
                        let iy = oy * sh - ph + ki * dh
                        let dst = row + oy * outWidth
                        guard iy >= 0, iy < height else { dst.update(repeating: 0, count: outWidth); continue }
                        let src = x + (c * height + iy) * width
                        for ox in 0..<outWidth {
                            let ix = ox * sw - pw + kj * dw
                            dst[ox] = ix >= 0 && ix < width ? src[ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// Adds cols back into an image (the adjoint of im2col).
    func col2im(_ cols: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            for ki in 0..<kh {
                for kj in 0..<kw {
                    let row = cols + ((c * kh + ki) * kw + kj) * positions
                    for oy in 0..<outHeight {
                        let iy = oy * sh - ph + ki * dh
                        guard iy >= 0, iy < height else { continue }
                        let dst = x + (c * height + iy) * width
                        for ox in 0..<outWidth {
                            let ix = ox * sw - pw + kj * dw
                            if ix >= 0 && ix < width { dst[ix] += row[oy * outWidth + ox] }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// torch.nn.functional.conv2d: input [N, C, H, W], weight [O, C/groups, kh, kw], bias [O].
    public func conv2d(weight: Tensor, bias: Tensor?, options: Conv2dOptions = .init()) throws -> Tensor {
        try requireFloat("conv2d")
        guard rank == 4, weight.rank == 4 else {
            throw SwiftTrainError.shape("conv2d: input must be [N, C, H, W] and weight [O, C/groups, kh, kw], got \(shape) and \(weight.shape)")
        }
        let g = options.groups, (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]), o = weight.shape[0]
        guard g > 0, c % g == 0, o % g == 0, weight.shape[1] == c / g else {
            throw SwiftTrainError.shape("conv2d: input shape \(shape) and weight shape \(weight.shape) do not fit with groups=\(g) "
                + "(weight must be [O, C/groups, kh, kw] with C and O divisible by groups)")
        }
        if let bias, bias.shape != [o] {
            throw SwiftTrainError.shape("conv2d: bias shape \(bias.shape) must be [\(o)]")
        }
        let geo = try WindowGeometry(channels: c / g, height: h, width: w, kernel: (weight.shape[2], weight.shape[3]),
                                     stride: options.stride, padding: options.padding, dilation: options.dilation, op: "conv2d")
        try Tensor.checkShape([n, o, geo.outHeight, geo.outWidth], "conv2d")
        try Tensor.checkShape([geo.patch, geo.positions], "conv2d (im2col)")
        try BLAS.load()
        let out = Tensor(uninitialized: [n, o, geo.outHeight, geo.outWidth])
        let cols = Storage(count: geo.patch * geo.positions)
        let og = o / g, hw = geo.positions
        for b in 0..<n {
            for gi in 0..<g {
                geo.im2col(data + (b * c + gi * geo.channels) * h * w, cols.base)
                let y = out.data + (b * o + gi * og) * hw
                if let bias { for k in 0..<og { (y + k * hw).update(repeating: bias.data[gi * og + k], count: hw) } }
                if hw > 0 && og > 0 {
                    BLAS.sgemm(transposeA: false, transposeB: false, m: og, n: hw, k: geo.patch,
                               a: weight.data + gi * og * geo.patch, lda: geo.patch, b: cols.base, ldb: hw,
                               beta: bias == nil ? 0 : 1, c: y, ldc: hw)
                }
            }
        }
        record(out, self, weight, bias) { Conv2dNode(input: self, weight: weight, bias: bias, geometry: geo, groups: g) }
        return out
    }

    /// torch.nn.functional.max_pool2d on [N, C, H, W]; stride defaults to the kernel.
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil,
                          padding: (Int, Int) = Conv2dOptions.pair(LayerDefaults.maxPool2d.padding),
                          dilation: (Int, Int) = Conv2dOptions.pair(LayerDefaults.maxPool2d.dilation),
                          ceilMode: Bool = LayerDefaults.maxPool2d.ceilMode) throws -> Tensor {
        try pool(kernel: kernel, stride: stride ?? kernel, padding: padding, dilation: dilation, ceilMode: ceilMode,
                 max: true, includePad: true, divisorOverride: nil)
    }

    /// torch.nn.functional.avg_pool2d on [N, C, H, W] (count_include_pad, ceil_mode and
    /// divisor_override as PyTorch).
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil,
                          padding: (Int, Int) = Conv2dOptions.pair(LayerDefaults.avgPool2d.padding),
                          ceilMode: Bool = LayerDefaults.avgPool2d.ceilMode,
                          countIncludePad: Bool = LayerDefaults.avgPool2d.countIncludePad, divisorOverride: Int? = nil) throws -> Tensor {
        if let d = divisorOverride, d <= 0 { throw SwiftTrainError.invalid("avg_pool2d: divisor_override must be positive, got \(d)") }
        return try pool(kernel: kernel, stride: stride ?? kernel, padding: padding, dilation: (1, 1), ceilMode: ceilMode,
                        max: false, includePad: countIncludePad, divisorOverride: divisorOverride)
    }

    private func pool(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), ceilMode: Bool,
                      max: Bool, includePad: Bool, divisorOverride: Int?) throws -> Tensor {
        let op = max ? "max_pool2d" : "avg_pool2d"
        try requireFloat(op)
        guard rank == 4 else { throw SwiftTrainError.shape("\(op): input must be [N, C, H, W], got \(shape)") }
        guard padding.0 * 2 <= kernel.0, padding.1 * 2 <= kernel.1 else {
            throw SwiftTrainError.invalid("\(op): padding \(padding) must be at most half the kernel \(kernel)")
        }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let geo = try WindowGeometry(channels: 1, height: h, width: w, kernel: kernel, stride: stride, padding: padding,
                                     dilation: dilation, ceilMode: ceilMode, op: op)
        let (oh, ow) = (geo.outHeight, geo.outWidth)
        try Tensor.checkShape([n, c, oh, ow], op)
        let out = Tensor(uninitialized: [n, c, oh, ow])
        // For every output: the input offsets it reads (max: the chosen one) and its divisor.
        var sources = [Int32](repeating: -1, count: max ? out.count : 0)
        var divisors = [Float](repeating: 1, count: max ? 0 : oh * ow)
        for plane in 0..<(n * c) {
            let x = data + plane * h * w, y = out.data + plane * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var best = -Float.infinity, at = -1, sum: Float = 0, valid = 0
                    for ki in 0..<geo.kh {
                        let iy = oy * geo.sh - geo.ph + ki * geo.dh
                        guard iy >= 0, iy < h else { continue }
                        for kj in 0..<geo.kw {
                            let ix = ox * geo.sw - geo.pw + kj * geo.dw
                            guard ix >= 0, ix < w else { continue }
                            let v = x[iy * w + ix]
                            if v > best || v.isNaN || at < 0 { best = v; at = iy * w + ix }
                            sum += v
                            valid += 1
                        }
                    }
                    if max {
                        y[oy * ow + ox] = best
                        sources[plane * oh * ow + oy * ow + ox] = Int32(at)
                    } else {
                        let y0 = oy * geo.sh - geo.ph, x0 = ox * geo.sw - geo.pw
                        let padded = (Swift.min(y0 + geo.kh, h + geo.ph) - y0) * (Swift.min(x0 + geo.kw, w + geo.pw) - x0)
                        let divisor = Float(divisorOverride ?? (includePad ? padded : valid))
                        divisors[oy * ow + ox] = divisor
                        y[oy * ow + ox] = sum / divisor
                    }
                }
            }
        }
        record(out, self) { PoolNode(input: self, geometry: geo, sources: sources, divisors: divisors) }
        return out
    }
}

final class Conv2dNode: GradNode {
    let input: Tensor, weight: Tensor, bias: Tensor?, geometry: WindowGeometry, groups: Int
    init(input: Tensor, weight: Tensor, bias: Tensor?, geometry: WindowGeometry, groups: Int) {
        self.input = input; self.weight = weight; self.bias = bias; self.geometry = geometry; self.groups = groups
    }
    func forEachInput(_ body: (Tensor) -> Void) {
        body(input)
        body(weight)
        if let bias { body(bias) }
    }
    func backward(_ grad: UnsafeMutablePointer<Float>, output: Tensor) {
        let geo = geometry, g = groups
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3]), o = weight.shape[0]
        let og = o / g, hw = geo.positions, k = geo.patch
        guard hw > 0, og > 0 else { return }
        let cols = Storage(count: k * hw)
        if weight.requiresGrad {
            weight.accumulateGrad { dw, beta in
                var first = true
                for b in 0..<n {
                    for gi in 0..<g {
                        geo.im2col(input.data + (b * c + gi * geo.channels) * h * w, cols.base)
                        BLAS.sgemm(transposeA: false, transposeB: true, m: og, n: k, k: hw,
                                   a: grad + (b * o + gi * og) * hw, lda: hw, b: cols.base, ldb: hw,
                                   beta: first && b == 0 ? beta : 1, c: dw + gi * og * k, ldc: k)
                    }
                    first = false
                }
            }
        }
        if input.requiresGrad {
            input.accumulateGrad { dx, beta in
                if beta == 0 { dx.update(repeating: 0, count: input.count) }
                for b in 0..<n {
                    for gi in 0..<g {
                        BLAS.sgemm(transposeA: true, transposeB: false, m: k, n: hw, k: og,
                                   a: weight.data + gi * og * k, lda: k, b: grad + (b * o + gi * og) * hw, ldb: hw,
                                   beta: 0, c: cols.base, ldc: hw)
                        geo.col2im(cols.base, dx + (b * c + gi * geo.channels) * h * w)
                    }
                }
            }
        }
        bias?.accumulateGrad { db, beta in
            if beta == 0 { db.update(repeating: 0, count: o) }
            for b in 0..<n { for ch in 0..<o { for j in 0..<hw { db[ch] += grad[(b * o + ch) * hw + j] } } }
        }
    }
}

final class PoolNode: GradNode {
    let input: Tensor, geometry: WindowGeometry, sources: [Int32], divisors: [Float]
    init(input: Tensor, geometry: WindowGeometry, sources: [Int32], divisors: [Float]) {
        self.input = input; self.geometry = geometry; self.sources = sources; self.divisors = divisors
    }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let geo = geometry, (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = (geo.outHeight, geo.outWidth), planes = input.shape[0] * input.shape[1]
        input.accumulateGrad { dx, beta in
            if beta == 0 { dx.update(repeating: 0, count: input.count) }
            for plane in 0..<planes {
                let d = dx + plane * h * w, src = g + plane * oh * ow
                if !sources.isEmpty {
                    for i in 0..<(oh * ow) where sources[plane * oh * ow + i] >= 0 { d[Int(sources[plane * oh * ow + i])] += src[i] }
                    continue
                }
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let share = src[oy * ow + ox] / divisors[oy * ow + ox]
                        for ki in 0..<geo.kh {
                            let iy = oy * geo.sh - geo.ph + ki
                            guard iy >= 0, iy < h else { continue }
                            for kj in 0..<geo.kw {
                                let ix = ox * geo.sw - geo.pw + kj
                                if ix >= 0 && ix < w { d[iy * w + ix] += share }
                            }
                        }
                    }
                }
            }
        }
    }
}
