/// An element-wise function on raw buffers: what an activation module computes, for code that
/// runs layers without building tensors (the planned training step, PlannedStep). The loops
/// are the ones `unary` and its gradient node run, so both give the same bits.
protocol PointwiseActivation {
    /// y[i] = f(x[i]) for i in 0..<n (x and y may be the same buffer).
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int)
    /// dx[i] = g[i] f'(x[i]), given x and y = f(x): d(loss)/dy to d(loss)/dx (dx may be g).
    func backward(_ g: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
                  into dx: UnsafeMutablePointer<Float>, _ n: Int)
}

/// A `UnaryFunction` as a `PointwiseActivation` (specialised per function, so the loops
/// inline the function and vectorise where it allows).
struct Pointwise<F: UnaryFunction>: PointwiseActivation {
    let f: F
    init(_ f: F) { self.f = f }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let f = self.f
        for i in 0..<n { y[i] = f.value(x[i]) }
    }

    func backward(_ g: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
                  into dx: UnsafeMutablePointer<Float>, _ n: Int) {
        let f = self.f
        for i in 0..<n { dx[i] = g[i] * f.derivative(x[i], y[i]) }
    }
}
