/// Shape operations. Reshapes, and slices that are one contiguous block of their input, are
/// views (shared memory); everything else copies into a new contiguous tensor. A copy that
/// stands where PyTorch returns a view is marked (`Storage.copiedView`), so that writing into
/// it is refused instead of silently missing the original.
extension Tensor {
    /// The same values with another shape (one dimension may be -1), sharing memory
    /// (torch.reshape / view).
    public func reshape(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        if let free = newShape.firstIndex(of: -1) {
            guard newShape.filter({ $0 == -1 }).count == 1 else {
                throw SwiftTrainError.shape("reshape: only one dimension can be -1, got \(newShape)")
            }
            var known = 1
            for (i, d) in newShape.enumerated() where i != free {
                let (m, overflow) = known.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw SwiftTrainError.shape("reshape: shape \(newShape) is invalid for a tensor of shape \(shape) (\(count) elements)")
                }
                known = m
            }
            guard known > 0, count % known == 0 else {
                throw SwiftTrainError.shape("reshape: shape \(newShape) is invalid for a tensor of shape \(shape) (\(count) elements)")
            }
            resolved[free] = count / known
        }
        guard resolved.allSatisfy({ $0 >= 0 }), (try? Tensor.checkShape(resolved)) != nil, resolved.reduce(1, *) == count else {
            throw SwiftTrainError.shape("reshape: shape \(newShape) is invalid for a tensor of shape \(shape) (\(count) elements)")
        }
        return try reshapedView(resolved)
    }

    /// A view with `newShape` (same element count, checked by callers).
    func reshapedView(_ newShape: [Int]) throws -> Tensor {
        if newShape == shape { return self }
        let out = Tensor(shape: newShape, dtype: dtype, storage: storage)
        record(out, self) { ReshapeNode(input: self) }
        return out
    }

    /// Flattens dimensions startDim...endDim into one (torch.flatten).
    public func flatten(startDim: Int = LayerDefaults.tensorFlatten.startDim,
                        endDim: Int = LayerDefaults.tensorFlatten.endDim) throws -> Tensor {
        guard rank > 0 else { return try reshapedView([1]) }
        let s = try normalizedDim(startDim, "flatten"), e = try normalizedDim(endDim, "flatten")
        guard s <= e else { throw SwiftTrainError.invalid("flatten: start_dim \(startDim) comes after end_dim \(endDim)") }
        return try reshapedView(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    /// Removes dimension `dim` if it has size 1, or every size-1 dimension when nil.
    public func squeeze(dim: Int? = nil) throws -> Tensor {
        guard let dim else { return try reshapedView(shape.filter { $0 != 1 }) }
        let d = try normalizedDim(dim, "squeeze")
        guard rank > 0, shape[d] == 1 else { return self }
        var s = shape
        s.remove(at: d)
        return try reshapedView(s)
    }

    /// Inserts a dimension of size 1 at `dim` (-rank-1...rank).
    public func unsqueeze(dim: Int) throws -> Tensor {
        guard dim >= -rank - 1, dim <= rank else {
            throw SwiftTrainError.invalid("unsqueeze: dimension \(dim) is out of range for a tensor of shape \(shape)")
        }
        let d = dim < 0 ? dim + rank + 1 : dim
        guard d >= 0, d <= rank else {
            throw SwiftTrainError.invalid("unsqueeze: dimension \(dim) is out of range for a tensor of shape \(shape)")
        }
        var s = shape
        s.insert(1, at: d)
        return try reshapedView(s)
    }

    /// Reorders the dimensions (torch.permute); copies.
    public func permute(_ dims: [Int]) throws -> Tensor {
        guard dims.count == rank else {
            throw SwiftTrainError.invalid("permute: \(dims) must name each of the \(rank) dimensions of shape \(shape) once")
        }
        let perm = try dims.map { try normalizedDim($0, "permute") }
        guard Set(perm).count == rank else {
            throw SwiftTrainError.invalid("permute: \(dims) must name each of the \(rank) dimensions of shape \(shape) once")
        }
        if perm == Array(0..<rank) { return self }
        let outShape = perm.map { shape[$0] }
        let out = Tensor(uninitialized: outShape, dtype: dtype)
        permuteCopy(from: storage.raw, shape: shape, perm: perm, into: out.storage.raw, elementSize: dtype.size)
        out.storage.copiedView = "a permutation \(perm) of a tensor of shape \(shape)"
        record(out, self) { PermuteNode(input: self, perm: perm) }
        return out
    }

    /// Swaps two dimensions (torch.transpose); copies.
    public func transpose(_ dim0: Int, _ dim1: Int) throws -> Tensor {
        let a = try normalizedDim(dim0, "transpose"), b = try normalizedDim(dim1, "transpose")
        var perm = Array(0..<rank)
        perm.swapAt(a, b)
        return try permute(perm)
    }

    /// Repeats size-1 dimensions to `size` (-1 keeps a dimension), like torch.expand; copies.
    public func expand(_ size: [Int]) throws -> Tensor {
        guard size.count >= rank else {
            throw SwiftTrainError.shape("expand: size \(size) has fewer dimensions than shape \(shape)")
        }
        let offset = size.count - rank
        var target = size
        for i in 0..<rank where size[i + offset] == -1 { target[i + offset] = shape[i] }
        for i in 0..<rank where shape[i] != 1 && shape[i] != target[i + offset] {
            throw SwiftTrainError.shape("expand: cannot expand shape \(shape) to \(size)")
        }
        try Tensor.checkShape(target, "expand")
        let out = Tensor(uninitialized: target)
        try requireFloat("expand")
        broadcastCopy(data, shape, into: out.data, target)
        out.storage.copiedView = "an expansion to \(target) of a tensor of shape \(shape)"
        record(out, self) { BroadcastNode(input: self) }
        return out
    }

    /// Elements start..<end by step along `dim` (Python slicing semantics for the bounds:
    /// negative values count from the end, out-of-range bounds are clipped). A view sharing
    /// memory when the elements are one contiguous block (every dimension before `dim` has
    /// size 1, or the slice takes all of `dim`, and step 1 or one element); else a copy marked
    /// as standing for PyTorch's strided view.
    public func slice(dim: Int, start: Int? = nil, end: Int? = nil, step: Int = 1) throws -> Tensor {
        let d = try normalizedSizedDim(dim, "slice")
        guard step > 0 else { throw SwiftTrainError.invalid("slice: step must be positive, got \(step)") }
        let n = shape[d]
        func clip(_ v: Int?, _ fallback: Int) -> Int {
            guard var v else { return fallback }
            if v < 0 { v += n }
            return Swift.min(Swift.max(v, 0), n)
        }
        let s = clip(start, 0), e = clip(end, n)
        let length = e > s ? (e - s + step - 1) / step : 0
        var outShape = shape
        outShape[d] = length
        let spec = SliceSpec(dim: d, start: s, step: step)
        let inner = shape[(d + 1)...].reduce(1, *), outCount = outShape.reduce(1, *)
        let block = (step == 1 || length <= 1) && (shape[..<d].allSatisfy { $0 == 1 } || length == n)
        let out: Tensor
        if block || outCount == 0 {
            let offset = outCount == 0 ? 0 : s * inner * dtype.size
            out = Tensor(shape: outShape, dtype: dtype,
                         storage: Storage(viewOf: storage, offset: offset, byteCount: outCount * dtype.size))
        } else {
            out = Tensor(uninitialized: outShape, dtype: dtype)
            spec.copy(from: self, into: out)
            out.storage.copiedView = "elements \(s)..<\(e) step \(step) of dimension \(d) of a tensor of shape \(shape)"
        }
        record(out, self) { SliceNode(input: self, spec: spec) }
        return out
    }

    /// One element along `dim`, the dimension removed (x[i] in Python).
    public func select(dim: Int, index: Int) throws -> Tensor {
        let d = try normalizedSizedDim(dim, "select")
        guard index >= -shape[d], index < shape[d] else {
            throw SwiftTrainError.invalid("select: index \(index) is out of range for dimension \(dim) of size \(shape[d])")
        }
        let i = index < 0 ? index + shape[d] : index
        guard i >= 0, i < shape[d] else {
            throw SwiftTrainError.invalid("select: index \(index) is out of range for dimension \(dim) of size \(shape[d])")
        }
        return try slice(dim: d, start: i, end: i + 1).squeeze(dim: d)
    }

    /// Splits into pieces of `size` along `dim` (the last may be smaller), like torch.split.
    public func split(size: Int, dim: Int = 0) throws -> [Tensor] {
        let d = try normalizedSizedDim(dim, "split")
        guard size > 0 else { throw SwiftTrainError.invalid("split: split_size must be positive, got \(size)") }
        return try stride(from: 0, to: Swift.max(shape[d], 1), by: size).map { try slice(dim: d, start: $0, end: $0 + size) }
    }

    /// Splits into pieces of the given sizes along `dim`; they must add up to its size.
    public func split(sizes: [Int], dim: Int = 0) throws -> [Tensor] {
        let d = try normalizedSizedDim(dim, "split")
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[d] else {
            throw SwiftTrainError.invalid("split: sizes \(sizes) must add up to \(shape[d]), the size of dimension \(dim)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(dim: d, start: start, end: start + size)
        }
    }

    /// Splits into `chunks` pieces along `dim`, like torch.chunk.
    public func chunk(_ chunks: Int, dim: Int = 0) throws -> [Tensor] {
        guard chunks > 0 else { throw SwiftTrainError.invalid("chunk: chunks must be positive, got \(chunks)") }
        let d = try normalizedSizedDim(dim, "chunk")
        let n = shape[d]
        return try split(size: Swift.max(1, n / chunks + (n % chunks == 0 ? 0 : 1)), dim: d)
    }

    /// Values along `dim` at `index` (same rank; torch.gather).
    public func gather(dim: Int, index: Tensor) throws -> Tensor {
        let d = try normalizedSizedDim(dim, "gather")
        guard index.dtype == .int64 else { throw SwiftTrainError(.invalidArgument, "gather: index must be int64, got \(index.dtype)") }
        guard index.rank == rank else {
            throw SwiftTrainError.shape("gather: index shape \(index.shape) must have as many dimensions as input shape \(shape)")
        }
        for i in 0..<rank where i != d && index.shape[i] > shape[i] {
            throw SwiftTrainError.shape("gather: index shape \(index.shape) is larger than input shape \(shape) in dimension \(i)")
        }
        let offsets = try GatherSpec(input: self, dim: d, index: index)
        let out = Tensor(uninitialized: index.shape, dtype: dtype)
        copyElements(offsets.offsets, into: out)
        record(out, self) { ScatterAddNode(input: self, offsets: offsets.offsets) }
        return out
    }

    /// Entries along `dim` at the positions of a 1-D int64 `index` (torch.index_select).
    public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
        let d = try normalizedSizedDim(dim, "index_select")
        guard index.dtype == .int64, index.rank <= 1 else {
            throw SwiftTrainError(.invalidArgument, "index_select: index must be a 1-D int64 tensor, got \(index.dtype) \(index.shape)")
        }
        let (outer, n, inner) = split(at: d)
        let k = index.count, ix = index.int64Data
        for i in 0..<k where ix[i] < 0 || ix[i] >= n {
            throw SwiftTrainError.invalid("index_select: index \(ix[i]) is out of range for dimension \(dim) of size \(n)")
        }
        var outShape = shape
        outShape[d] = k
        let out = Tensor(uninitialized: outShape, dtype: dtype)
        var offsets = [Int](repeating: 0, count: outer * k * inner)
        for o in 0..<outer {
            for j in 0..<k {
                let src = (o * n + Int(ix[j])) * inner, dst = (o * k + j) * inner
                for i in 0..<inner { offsets[dst + i] = src + i }
            }
        }
        copyElements(offsets, into: out)
        record(out, self) { ScatterAddNode(input: self, offsets: offsets) }
        return out
    }

    /// out[i] = self[offsets[i]] for any element type.
    private func copyElements(_ offsets: [Int], into out: Tensor) {
        switch dtype {
        case .float32: for (i, o) in offsets.enumerated() { out.data[i] = data[o] }
        case .int64: for (i, o) in offsets.enumerated() { out.int64Data[i] = int64Data[o] }
        case .bool: for (i, o) in offsets.enumerated() { out.boolData[i] = boolData[o] }
        }
    }
}

/// Concatenates tensors along `dim` (torch.cat). All other dimensions must match.
public func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    guard let first = tensors.first else { throw SwiftTrainError.invalid("cat: needs at least one tensor") }
    let d = try first.normalizedSizedDim(dim, "cat")
    for t in tensors {
        guard t.dtype == first.dtype else {
            throw SwiftTrainError(.invalidArgument, "cat: tensors must have one dtype, got \(first.dtype) and \(t.dtype)")
        }
        guard t.rank == first.rank,
              zip(t.shape, first.shape).enumerated().allSatisfy({ $0.offset == d || $0.element.0 == $0.element.1 }) else {
            throw SwiftTrainError.shape("cat: shapes \(first.shape) and \(t.shape) differ outside dimension \(dim)")
        }
    }
    var outShape = first.shape
    var total = 0
    for t in tensors {
        let (sum, overflow) = total.addingReportingOverflow(t.shape[d])
        guard !overflow else { throw SwiftTrainError.shape("cat: the result along dimension \(dim) is too large") }
        total = sum
    }
    outShape[d] = total
    try Tensor.checkShape(outShape, "cat")
    let out = Tensor(uninitialized: outShape, dtype: first.dtype)
    let outer = first.shape[..<d].reduce(1, *), inner = first.shape[(d + 1)...].reduce(1, *)
    let rowBytes = outShape[d] * inner * first.dtype.size
    var columnOffset = 0
    for t in tensors {
        let bytes = t.shape[d] * inner * first.dtype.size
        for o in 0..<outer {
            (out.storage.raw + o * rowBytes + columnOffset).copyMemory(from: t.storage.raw + o * bytes, byteCount: bytes)
        }
        columnOffset += bytes
    }
    if first.dtype == .float32 {
        record(out, tensors.contains { $0.requiresGrad } ? tensors.first { $0.requiresGrad } : nil) {
            CatNode(inputs: tensors, dim: d)
        }
    }
    return out
}

/// Stacks equally shaped tensors along a new dimension `dim` (torch.stack).
public func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    guard let first = tensors.first else { throw SwiftTrainError.invalid("stack: needs at least one tensor") }
    for t in tensors where t.shape != first.shape {
        throw SwiftTrainError.shape("stack: all tensors must have one shape, got \(first.shape) and \(t.shape)")
    }
    return try cat(tensors.map { try $0.unsqueeze(dim: dim) }, dim: dim < 0 ? dim + first.rank + 1 : dim)
}

/// Copies a tensor of `shape` into the layout of its dimensions permuted by `perm`.
func permuteCopy(from src: UnsafeMutableRawPointer, shape: [Int], perm: [Int], into dst: UnsafeMutableRawPointer,
                 elementSize: Int) {
    let outShape = perm.map { shape[$0] }
    guard outShape.reduce(1, *) > 0 else { return }
    var inStrides = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
    let strides = perm.map { inStrides[$0] }
    let inner = outShape.last!, innerStride = strides.last!
    func run<T>(_ type: T.Type) {
        let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: T.self)
        Broadcast.forEachRow(outShape, [strides]) { row, off in
            for j in 0..<inner { d[row + j] = s[off[0] + j * innerStride] }
        }
    }
    switch elementSize {
    case 8: run(Int64.self)
    case 1: run(UInt8.self)
    default: run(Float.self)
    }
}

final class ReshapeNode: GradNode {
    let input: Tensor
    init(input: Tensor) { self.input = input }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        input.accumulateGrad(broadcast: g, shape: input.shape)
    }
}

final class PermuteNode: GradNode {
    let input: Tensor, perm: [Int]
    init(input: Tensor, perm: [Int]) { self.input = input; self.perm = perm }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        var inverse = perm
        for (i, p) in perm.enumerated() { inverse[p] = i }
        let back = Storage(count: input.count)
        permuteCopy(from: UnsafeMutableRawPointer(g), shape: output.shape, perm: inverse, into: back.raw, elementSize: 4)
        input.accumulateGrad(broadcast: back.base, shape: input.shape)
    }
}

/// Gradient of a broadcast copy: summed back over the broadcast dimensions.
final class BroadcastNode: GradNode {
    let input: Tensor
    init(input: Tensor) { self.input = input }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        input.accumulateGrad(broadcast: g, shape: output.shape)
    }
}

/// A strided slice along one dimension.
struct SliceSpec {
    let dim: Int, start: Int, step: Int

    /// Source offset (in elements) of every element of a tensor sliced out of `input`.
    func forEachRow(input: Tensor, outShape: [Int], _ body: (Int, Int, Int, Int) -> Void) {
        var strides = [Int](repeating: 1, count: input.rank)
        for i in stride(from: input.rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * input.shape[i + 1] }
        let base = start * strides[dim]
        strides[dim] *= step
        let inner = outShape.last ?? 1, innerStride = strides.last ?? 1
        guard outShape.reduce(1, *) > 0 else { return }
        Broadcast.forEachRow(outShape, [strides]) { row, off in body(row, base + off[0], inner, innerStride) }
    }

    func copy(from input: Tensor, into out: Tensor) {
        let size = input.dtype.size, s = input.storage.raw, d = out.storage.raw
        forEachRow(input: input, outShape: out.shape) { row, src, inner, stride in
            if stride == 1 {  // a run of consecutive elements: one copy
                (d + row * size).copyMemory(from: s + src * size, byteCount: inner * size)
                return
            }
            for j in 0..<inner { (d + (row + j) * size).copyMemory(from: s + (src + j * stride) * size, byteCount: size) }
        }
    }
}

final class SliceNode: GradNode {
    let input: Tensor, spec: SliceSpec
    init(input: Tensor, spec: SliceSpec) { self.input = input; self.spec = spec }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        input.accumulateGrad { dx, beta in
            if beta == 0 { dx.update(repeating: 0, count: input.count) }
            spec.forEachRow(input: input, outShape: output.shape) { row, src, inner, stride in
                for j in 0..<inner { dx[src + j * stride] += g[row + j] }
            }
        }
    }
}

/// Source offsets of torch.gather.
struct GatherSpec {
    let offsets: [Int]

    init(input: Tensor, dim: Int, index: Tensor) throws {
        var inStrides = [Int](repeating: 1, count: input.rank)
        for i in stride(from: input.rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * input.shape[i + 1] }
        var offsets = [Int](repeating: 0, count: index.count)
        var coordinate = [Int](repeating: 0, count: index.rank)
        let ix = index.int64Data, n = input.shape[dim]
        for flat in 0..<index.count {
            let k = ix[flat]
            guard k >= 0, k < n else {
                throw SwiftTrainError.invalid("gather: index \(k) is out of range for dimension \(dim) of size \(n)")
            }
            var offset = 0
            for d in 0..<index.rank { offset += (d == dim ? Int(k) : coordinate[d]) * inStrides[d] }
            offsets[flat] = offset
            var d = index.rank - 1
            while d >= 0 {
                coordinate[d] += 1
                if coordinate[d] < index.shape[d] { break }
                coordinate[d] = 0
                d -= 1
            }
        }
        self.offsets = offsets
    }
}

/// Gradient of gather / index_select: added back at the source offsets.
final class ScatterAddNode: GradNode {
    let input: Tensor, offsets: [Int]
    init(input: Tensor, offsets: [Int]) { self.input = input; self.offsets = offsets }
    func forEachInput(_ body: (Tensor) -> Void) { body(input) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        input.accumulateGrad { dx, beta in
            if beta == 0 { dx.update(repeating: 0, count: input.count) }
            for (i, o) in offsets.enumerated() { dx[o] += g[i] }
        }
    }
}

final class CatNode: GradNode {
    let inputs: [Tensor], dim: Int
    init(inputs: [Tensor], dim: Int) { self.inputs = inputs; self.dim = dim }
    func forEachInput(_ body: (Tensor) -> Void) { inputs.forEach(body) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let outer = output.shape[..<dim].reduce(1, *), inner = output.shape[(dim + 1)...].reduce(1, *)
        let row = output.shape[dim] * inner
        var column = 0
        for t in inputs {
            let width = t.shape[dim] * inner
            t.accumulateGrad { dx, beta in
                for o in 0..<outer {
                    let src = g + o * row + column, dst = dx + o * width
                    if beta == 0 { dst.update(from: src, count: width) } else { for j in 0..<width { dst[j] += src[j] } }
                }
            }
            column += width
        }
    }
}
