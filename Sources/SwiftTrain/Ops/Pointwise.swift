/// An element-wise function on raw buffers: what an activation module computes, for code that
/// runs layers without building tensors (the planned training step, PlannedStep). The loops
/// are the ones `unary` and its gradient node run, so both give the same bits.
///
/// The loops are closures made in the generic initialiser: each activation's initialiser is
/// specialised for its function, so its loops inline the function and vectorise where it
/// allows. (Calling a generic type's methods through a protocol existential would call the
/// function through its witness table once per element instead, several times slower.)
struct PointwiseActivation {
    /// y[i] = f(x[i]) for i in 0..<n (x and y may be the same buffer).
    let forward: (_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Void
    /// dx[i] = g[i] f'(x[i]), given x and y = f(x): d(loss)/dy to d(loss)/dx (dx may be g).
    let backward: (_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                   _ dx: UnsafeMutablePointer<Float>, _ n: Int) -> Void

    init<F: UnaryFunction>(_ f: F) {
        forward = { x, y, n in for i in 0..<n { y[i] = f.value(x[i]) } }
        backward = { g, x, y, dx, n in for i in 0..<n { dx[i] = g[i] * f.derivative(x[i], y[i]) } }
    }
}
