/// One recorded operation: which tensors it read and how to pass a gradient back to them.
/// Each operation's node lives next to its forward pass (Ops/); the engine below only walks
/// the graph.
protocol GradNode: AnyObject {
    /// Calls `body` for each input tensor of the operation.
    func forEachInput(_ body: (Tensor) -> Void)
    /// Adds d(loss)/d(input) to each input that requires gradients, given `grad` =
    /// d(loss)/d(output): contiguous, with the output's shape.
    func backward(_ grad: UnsafeMutablePointer<Float>, output: Tensor)
}

/// Records `node` as the origin of `output` when autograd is on and an input requires
/// gradients. `node` is only built when it is needed.
@inline(__always)
func record(_ output: Tensor, _ inputs: Tensor?..., node: () -> GradNode) {
    guard isGradEnabled else { return }
    for case let input? in inputs where input.requiresGrad {
        output.requiresGrad = true
        output.gradFn = node()
        return
    }
}

extension Tensor {
    /// Calls `body` with this tensor's gradient buffer and the factor to keep its current
    /// contents: 0 for a fresh, uninitialised buffer (overwrite it, never read it), 1 to
    /// accumulate. Does nothing when the tensor does not require gradients.
    @inline(__always)
    func accumulateGrad(_ body: (UnsafeMutablePointer<Float>, Float) -> Void) {
        guard requiresGrad else { return }
        if let existing = gradStorage {
            body(existing.base, 1)
        } else {
            let fresh = Storage(count: count)
            body(fresh.base, 0)
            gradStorage = fresh
        }
    }

    /// Adds `g` (laid out with `shape`, which this tensor's shape broadcasts to) to this
    /// tensor's gradient, summing over the broadcast dimensions.
    func accumulateGrad(broadcast g: UnsafePointer<Float>, shape gShape: [Int]) {
        guard requiresGrad else { return }
        if gShape == shape {
            accumulateGrad { dst, beta in
                if beta == 0 { dst.update(from: g, count: count) } else { for i in 0..<count { dst[i] += g[i] } }
            }
            return
        }
        let kept = [Int](repeating: 1, count: gShape.count - shape.count) + shape
        accumulateGrad { dst, beta in
            if beta == 0 {
                reduceSum(g, gShape, into: dst, kept)
            } else {
                let sum = Storage(count: count)
                reduceSum(g, gShape, into: sum.base, kept)
                for i in 0..<count { dst[i] += sum.base[i] }
            }
        }
    }

    /// Computes the gradient of this scalar with respect to every tensor it was computed
    /// from that requires gradients, and adds it to their `grad` (torch.Tensor.backward).
    /// The graph is released afterwards (intermediate results no longer hold their inputs)
    /// unless `retainGraph`, which keeps it for another backward pass (torch's retain_graph).
    public func backward(retainGraph: Bool = false) throws {
        guard count == 1 else {
            throw SwiftTrainError.shape(
                "backward(): only a scalar (one element) can start backward, got shape \(shape); reduce it (sum, mean) "
                    + "or pass a gradient with backward(gradient:)")
        }
        try backward(gradient: try Tensor.full(shape, 1), retainGraph: retainGraph)
    }

    /// Backpropagates `gradient` (d(loss)/d(self), same shape as self); `retainGraph` as in
    /// `backward(retainGraph:)`.
    public func backward(gradient: Tensor, retainGraph: Bool = false) throws {
        guard requiresGrad else {
            throw SwiftTrainError.misuse(
                "backward(): this tensor does not require gradients (no input requires them, it was computed under "
                    + "no_grad, or its graph was already released by an earlier backward)")
        }
        guard gradient.dtype == .float32 else {
            throw SwiftTrainError.invalid("backward(gradient:): the gradient must be float32, got \(gradient.dtype)")
        }
        guard gradient.shape == shape else {
            throw SwiftTrainError.shape("backward(gradient:): gradient shape \(gradient.shape) must equal the tensor's shape \(shape)")
        }
        // Depth-first post-order (inputs before the tensors computed from them), walked backwards.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            if t.graphReleased {
                throw SwiftTrainError.misuse(
                    "backward(): the graph through a \(t.shape) intermediate result was already released by an earlier "
                        + "backward pass; recompute the forward pass, or pass retain_graph=True to the first backward")
            }
            stack.append((t, true))
            t.gradFn?.forEachInput { input in
                if input.requiresGrad && !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }
        accumulateGrad(broadcast: gradient.data, shape: shape)
        for t in order.reversed() {
            guard let node = t.gradFn else { continue }
            if let g = t.gradStorage { node.backward(g.base, output: t) }
            t.gradStorage = nil  // intermediate gradients are not kept (as in PyTorch)
            if !retainGraph {
                t.gradFn = nil   // release the graph
                t.graphReleased = true
            }
        }
    }
}

/// Shapes and index arithmetic for broadcasting (NumPy/PyTorch rules).
enum Broadcast {
    /// The shape two shapes broadcast to, or an error naming `op` and both shapes.
    static func shape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw SwiftTrainError.shape("\(op): shapes \(a) and \(b) cannot be broadcast together (dimension \(i): \(da) vs \(db))")
            }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Element strides of a contiguous tensor of `shape` read as `outShape` (right-aligned),
    /// with 0 for broadcast dimensions.
    static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
        let n = outShape.count, offset = n - shape.count
        var strides = [Int](repeating: 0, count: n)
        var step = 1
        for i in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i + offset] = shape[i] == 1 && outShape[i + offset] != 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// Calls `body(rowOffset, offsets)` for every row (all dimensions but the last) of
    /// `outShape`: `rowOffset` is the row's offset in a contiguous tensor of `outShape`,
    /// `offsets[k]` the row's offset in operand k (laid out with `strides[k]`).
    static func forEachRow(_ outShape: [Int], _ strides: [[Int]],
                           _ body: (Int, UnsafeMutableBufferPointer<Int>) -> Void) {
        let rank = outShape.count
        let rows = rank == 0 ? 1 : outShape.dropLast().reduce(1, *)
        let inner = rank == 0 ? 1 : outShape[rank - 1]
        guard rows > 0, inner > 0 || rank == 0 else { return }
        let offsets = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(strides.count, 1))
        defer { offsets.deallocate() }
        for k in 0..<strides.count { offsets[k] = 0 }
        if rank <= 1 {
            body(0, offsets)
            return
        }
        var index = [Int](repeating: 0, count: rank - 1)
        for row in 0..<rows {
            body(row * inner, offsets)
            // advance the multi-index over the outer dimensions
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                for k in 0..<strides.count { offsets[k] += strides[k][d] }
                if index[d] < outShape[d] { break }
                for k in 0..<strides.count { offsets[k] -= strides[k][d] * outShape[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}
