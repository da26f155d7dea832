import Glibc

// Element-wise operations with broadcasting. Each function is a type whose static or
// instance methods the generic kernels are specialised for, so inner loops are plain
// arithmetic the compiler can vectorise (no per-element closures).

/// A differentiable binary function y = f(a, b).
protocol BinaryFunction {
    static var name: String { get }
    static func value(_ a: Float, _ b: Float) -> Float
    /// dy/da and dy/db at (a, b), given y.
    static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float)
}

/// A binary function that also has an exact int64 form (PyTorch keeps int64 for these).
protocol IntegerBinaryFunction: BinaryFunction {
    static func integer(_ a: Int64, _ b: Int64) -> Int64
}

extension AddFunction: IntegerBinaryFunction { static func integer(_ a: Int64, _ b: Int64) -> Int64 { a &+ b } }
extension SubFunction: IntegerBinaryFunction { static func integer(_ a: Int64, _ b: Int64) -> Int64 { a &- b } }
extension MulFunction: IntegerBinaryFunction { static func integer(_ a: Int64, _ b: Int64) -> Int64 { a &* b } }
extension MaximumFunction: IntegerBinaryFunction { static func integer(_ a: Int64, _ b: Int64) -> Int64 { Swift.max(a, b) } }
extension MinimumFunction: IntegerBinaryFunction { static func integer(_ a: Int64, _ b: Int64) -> Int64 { Swift.min(a, b) } }

enum AddFunction: BinaryFunction {
    static let name = "add"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) { (1, 1) }
}

enum SubFunction: BinaryFunction {
    static let name = "sub"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a - b }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) { (1, -1) }
}

enum MulFunction: BinaryFunction {
    static let name = "mul"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a * b }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) { (b, a) }
}

enum DivFunction: BinaryFunction {
    static let name = "div"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a / b }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) { (1 / b, -y / b) }
}

enum PowFunction: BinaryFunction {
    static let name = "pow"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { powf(a, b) }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) {
        (b == 0 ? 0 : b * powf(a, b - 1), a == 0 && b >= 0 ? 0 : y * logf(a))
    }
}

/// torch.maximum: ties send half the gradient to each side, as PyTorch does.
enum MaximumFunction: BinaryFunction {
    static let name = "maximum"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : max(a, b) }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) {
        a == b ? (0.5, 0.5) : (a > b ? (1, 0) : (0, 1))
    }
}

enum MinimumFunction: BinaryFunction {
    static let name = "minimum"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : min(a, b) }
    @inline(__always) static func gradients(_ a: Float, _ b: Float, _ y: Float) -> (Float, Float) {
        a == b ? (0.5, 0.5) : (a < b ? (1, 0) : (0, 1))
    }
}

/// Visits the rows (last dimension) of a broadcast of `a` and `b` to `outShape`:
/// body(outOffset, aOffset, bOffset, length, aStride, bStride), strides 0 or 1.
@inline(__always)
func forEachBroadcastRow(_ outShape: [Int], _ aShape: [Int], _ bShape: [Int],
                         _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
    let count = outShape.reduce(1, *)
    guard count > 0 else { return }
    if aShape == bShape {
        body(0, 0, 0, count, 1, 1)
        return
    }
    let sa = Broadcast.strides(of: aShape, in: outShape), sb = Broadcast.strides(of: bShape, in: outShape)
    let inner = outShape.last ?? 1
    let ia = sa.last ?? 0, ib = sb.last ?? 0
    Broadcast.forEachRow(outShape, [sa, sb]) { row, offsets in
        body(row, offsets[0], offsets[1], inner, ia, ib)
    }
}

func binary<F: BinaryFunction>(_ function: F.Type, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    if a.dtype == .int64 && b.dtype == .int64, let integer = F.self as? IntegerBinaryFunction.Type {
        return try integerBinary(integer, a, b)
    }
    if a.dtype != .float32 || b.dtype != .float32 {  // promote as PyTorch does: int64 with float32 gives float32
        guard a.dtype != .bool && b.dtype != .bool else {
            throw SwiftTrainError(.invalidArgument, "\(F.name): bool tensors take no arithmetic; convert with to(float32) first")
        }
        return try binary(function, try a.to(.float32), try b.to(.float32))
    }
    let shape = a.shape == b.shape ? a.shape : try Broadcast.shape(a.shape, b.shape, op: F.name)
    let out = Tensor(uninitialized: shape)
    let x = a.data, y = b.data, z = out.data
    forEachBroadcastRow(shape, a.shape, b.shape) { o, oa, ob, n, sa, sb in
        if sa == 1 && sb == 1 {
            for j in 0..<n { z[o + j] = F.value(x[oa + j], y[ob + j]) }
        } else if sa == 1 {
            let v = y[ob]
            for j in 0..<n { z[o + j] = F.value(x[oa + j], v) }
        } else if sb == 1 {
            let v = x[oa]
            for j in 0..<n { z[o + j] = F.value(v, y[ob + j]) }
        } else {
            let v = F.value(x[oa], y[ob])
            for j in 0..<n { z[o + j] = v }
        }
    }
    record(out, a, b) { BinaryNode<F>(a, b) }
    return out
}

/// int64 arithmetic (no gradient).
func integerBinary(_ f: IntegerBinaryFunction.Type, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    let shape = a.shape == b.shape ? a.shape : try Broadcast.shape(a.shape, b.shape, op: f.name)
    let out = Tensor(uninitialized: shape, dtype: .int64)
    let x = a.int64Data, y = b.int64Data, z = out.int64Data
    forEachBroadcastRow(shape, a.shape, b.shape) { o, oa, ob, n, sa, sb in
        for j in 0..<n { z[o + j] = f.integer(x[oa + j * sa], y[ob + j * sb]) }
    }
    return out
}

final class BinaryNode<F: BinaryFunction>: GradNode {
    let a: Tensor, b: Tensor
    init(_ a: Tensor, _ b: Tensor) { self.a = a; self.b = b }
    func forEachInput(_ body: (Tensor) -> Void) { body(a); body(b) }

    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let n = output.count, shape = output.shape
        let ga = a.requiresGrad ? Storage(count: n) : nil, gb = b.requiresGrad ? Storage(count: n) : nil
        let x = a.data, y = b.data, z = output.data
        forEachBroadcastRow(shape, a.shape, b.shape) { o, oa, ob, len, sa, sb in
            for j in 0..<len {
                let (da, db) = F.gradients(x[oa + j * sa], y[ob + j * sb], z[o + j])
                ga?.base[o + j] = g[o + j] * da
                gb?.base[o + j] = g[o + j] * db
            }
        }
        if let ga { a.accumulateGrad(broadcast: ga.base, shape: shape) }
        if let gb { b.accumulateGrad(broadcast: gb.base, shape: shape) }
    }
}

/// A differentiable unary function y = f(x) (possibly with parameters).
protocol UnaryFunction {
    var name: String { get }
    func value(_ x: Float) -> Float
    /// dy/dx at x, given y = f(x).
    func derivative(_ x: Float, _ y: Float) -> Float
}

struct Neg: UnaryFunction {
    var name: String { "neg" }
    @inline(__always) func value(_ x: Float) -> Float { -x }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { -1 }
}

struct Exp: UnaryFunction {
    var name: String { "exp" }
    @inline(__always) func value(_ x: Float) -> Float { expf(x) }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { y }
}

struct Log: UnaryFunction {
    var name: String { "log" }
    @inline(__always) func value(_ x: Float) -> Float { logf(x) }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 1 / x }
}

struct Sqrt: UnaryFunction {
    var name: String { "sqrt" }
    @inline(__always) func value(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 0.5 / y }
}

struct Rsqrt: UnaryFunction {
    var name: String { "rsqrt" }
    @inline(__always) func value(_ x: Float) -> Float { 1 / x.squareRoot() }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { -0.5 * y * y * y }
}

struct Abs: UnaryFunction {
    var name: String { "abs" }
    @inline(__always) func value(_ x: Float) -> Float { abs(x) }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}

struct ReLUFunction: UnaryFunction {
    var name: String { "relu" }
    @inline(__always) func value(_ x: Float) -> Float { x > 0 || x.isNaN ? x : 0 }  // NaN propagates, as in PyTorch
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x <= 0 ? 0 : 1 }  // PyTorch's threshold_backward
}

struct LeakyReLUFunction: UnaryFunction {
    let slope: Float
    var name: String { "leaky_relu" }
    @inline(__always) func value(_ x: Float) -> Float { x > 0 ? x : slope * x }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : slope }
}

struct GELUFunction: UnaryFunction {
    let tanhApproximation: Bool
    var name: String { "gelu" }
    @inline(__always) func value(_ x: Float) -> Float {
        if tanhApproximation {
            let k: Float = 0.7978845608028654  // sqrt(2/pi)
            return 0.5 * x * (1 + tanhf(k * (x + 0.044715 * x * x * x)))
        }
        return 0.5 * x * (1 + erff(x * 0.7071067811865476))
    }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
        if tanhApproximation {
            let k: Float = 0.7978845608028654
            let t = tanhf(k * (x + 0.044715 * x * x * x))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        }
        return 0.5 * (1 + erff(x * 0.7071067811865476)) + x * expf(-0.5 * x * x) * 0.3989422804014327
    }
}

struct SiLUFunction: UnaryFunction {
    var name: String { "silu" }
    @inline(__always) func value(_ x: Float) -> Float { x / (1 + expf(-x)) }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
        let s = 1 / (1 + expf(-x))
        return s * (1 + x * (1 - s))
    }
}

struct TanhFunction: UnaryFunction {
    var name: String { "tanh" }
    @inline(__always) func value(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 1 - y * y }
}

struct SigmoidFunction: UnaryFunction {
    var name: String { "sigmoid" }
    @inline(__always) func value(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + expf(-x)) : { let e = expf(x); return e / (1 + e) }()
    }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { y * (1 - y) }
}

/// torch.nn.functional.softplus: log(1 + exp(beta x)) / beta, linear above the threshold.
struct SoftplusFunction: UnaryFunction {
    let beta: Float, threshold: Float
    var name: String { "softplus" }
    @inline(__always) func value(_ x: Float) -> Float {
        let z = beta * x
        return z > threshold ? x : log1pf(expf(z)) / beta
    }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
        let z = beta * x
        return z > threshold ? 1 : 1 / (1 + expf(-z))
    }
}

/// torch.clamp: the gradient passes where min <= x <= max.
struct ClampFunction: UnaryFunction {
    let low: Float, high: Float
    var name: String { "clamp" }
    @inline(__always) func value(_ x: Float) -> Float { x.isNaN ? x : min(max(x, low), high) }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x >= low && x <= high ? 1 : 0 }
}

struct PowScalar: UnaryFunction {
    let exponent: Float
    var name: String { "pow" }
    @inline(__always) func value(_ x: Float) -> Float {
        exponent == 2 ? x * x : (exponent == 1 ? x : powf(x, exponent))
    }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
        exponent == 0 ? 0 : (exponent == 2 ? 2 * x : exponent * powf(x, exponent - 1))
    }
}

struct AddScalar: UnaryFunction {
    let c: Float
    var name: String { "add" }
    @inline(__always) func value(_ x: Float) -> Float { x + c }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 1 }
}

struct MulScalar: UnaryFunction {
    let c: Float
    var name: String { "mul" }
    @inline(__always) func value(_ x: Float) -> Float { x * c }
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { c }
}

func unary<F: UnaryFunction>(_ f: F, _ x: Tensor) throws -> Tensor {
    try x.requireFloat(f.name)
    let out = Tensor(uninitialized: x.shape)
    let src = x.data, dst = out.data
    for i in 0..<x.count { dst[i] = f.value(src[i]) }  // (PointwiseActivation's loop)
    record(out, x) { UnaryNode(f, x) }
    return out
}

final class UnaryNode<F: UnaryFunction>: GradNode {
    let f: F, x: Tensor
    init(_ f: F, _ x: Tensor) { self.f = f; self.x = x }
    func forEachInput(_ body: (Tensor) -> Void) { body(x) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let src = x.data, y = output.data, n = x.count, f = self.f
        x.accumulateGrad { dx, beta in
            if beta == 0 {
                for i in 0..<n { dx[i] = g[i] * f.derivative(src[i], y[i]) }
            } else {
                for i in 0..<n { dx[i] += g[i] * f.derivative(src[i], y[i]) }
            }
        }
    }
}

// MARK: - Comparisons and where

/// Element-wise comparisons (torch.eq, ...). Values match the C API's st_comparison.
public enum Comparison: Int32, Sendable, CaseIterable {
    case eq = 0, ne = 1, lt = 2, le = 3, gt = 4, ge = 5

    /// The names, as torch's functions ("eq", "ne", "lt", "le", "gt", "ge"); the C API's
    /// st_enum_from_name / st_enum_names ("comparison") read this table.
    public static let names: [(String, Comparison)] = [("eq", .eq), ("ne", .ne), ("lt", .lt), ("le", .le), ("gt", .gt), ("ge", .ge)]

    public var name: String { Self.names.first { $0.1 == self }!.0 }
}

extension Tensor {
    /// Element-wise comparison with broadcasting; a bool tensor (no gradient).
    public func compare(_ op: Comparison, _ other: Tensor) throws -> Tensor {
        guard dtype == other.dtype, dtype != .bool || op == .eq || op == .ne else {
            throw SwiftTrainError(.invalidArgument, "\(op.name): cannot compare \(dtype) with \(other.dtype)")
        }
        let shape = self.shape == other.shape ? self.shape : try Broadcast.shape(self.shape, other.shape, op: op.name)
        let out = Tensor(uninitialized: shape, dtype: .bool)
        let z = out.boolData
        func run<T: Comparable>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>) {
            forEachBroadcastRow(shape, self.shape, other.shape) { o, oa, ob, n, sa, sb in
                for j in 0..<n {
                    let a = x[oa + j * sa], b = y[ob + j * sb]
                    z[o + j] = switch op {
                    case .eq: a == b
                    case .ne: a != b
                    case .lt: a < b
                    case .le: a <= b
                    case .gt: a > b
                    case .ge: a >= b
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(data, other.data)
        case .int64: run(int64Data, other.int64Data)
        case .bool:
            let x = storage.raw.assumingMemoryBound(to: UInt8.self), y = other.storage.raw.assumingMemoryBound(to: UInt8.self)
            run(x, y)
        }
        return out
    }

    /// Element-wise comparison with a scalar.
    public func compare(_ op: Comparison, _ value: Float) throws -> Tensor {
        try compare(op, try Tensor.full([], value))
    }
}

/// condition ? a : b element-wise, with broadcasting of all three (torch.where).
public func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard condition.dtype == .bool else {
        throw SwiftTrainError(.invalidArgument, "where: the condition must be a bool tensor, got \(condition.dtype)")
    }
    try a.requireFloat("where")
    try b.requireFloat("where")
    let shape = try Broadcast.shape(try Broadcast.shape(condition.shape, a.shape, op: "where"), b.shape, op: "where")
    let out = Tensor(uninitialized: shape)
    let sc = Broadcast.strides(of: condition.shape, in: shape), sa = Broadcast.strides(of: a.shape, in: shape)
    let sb = Broadcast.strides(of: b.shape, in: shape)
    let inner = shape.last ?? 1, ic = sc.last ?? 0, ia = sa.last ?? 0, ib = sb.last ?? 0
    let c = condition.boolData, x = a.data, y = b.data, z = out.data
    if out.count > 0 {
        Broadcast.forEachRow(shape, [sc, sa, sb]) { row, off in
            for j in 0..<inner { z[row + j] = c[off[0] + j * ic] ? x[off[1] + j * ia] : y[off[2] + j * ib] }
        }
    }
    record(out, a, b) { WhereNode(condition, a, b) }
    return out
}

final class WhereNode: GradNode {
    let condition: Tensor, a: Tensor, b: Tensor
    init(_ condition: Tensor, _ a: Tensor, _ b: Tensor) { self.condition = condition; self.a = a; self.b = b }
    func forEachInput(_ body: (Tensor) -> Void) { body(a); body(b) }
    func backward(_ g: UnsafeMutablePointer<Float>, output: Tensor) {
        let shape = output.shape, n = output.count
        let sc = Broadcast.strides(of: condition.shape, in: shape), inner = shape.last ?? 1, ic = sc.last ?? 0
        let mask = Storage(count: n, dtype: .bool)
        let c = condition.boolData, m = mask.bools
        if n > 0 {
            Broadcast.forEachRow(shape, [sc]) { row, off in
                for j in 0..<inner { m[row + j] = c[off[0] + j * ic] }
            }
        }
        for (t, keep) in [(a, true), (b, false)] where t.requiresGrad {
            let part = Storage(count: n)
            for i in 0..<n { part.base[i] = m[i] == keep ? g[i] : 0 }
            t.accumulateGrad(broadcast: part.base, shape: shape)
        }
    }
}

// MARK: - Public element-wise API

extension Tensor {
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(AddFunction.self, a, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(SubFunction.self, a, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(MulFunction.self, a, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(DivFunction.self, a, b) }
    public static func + (a: Tensor, c: Float) throws -> Tensor {
        if a.dtype == .int64, c.rounded() == c, Swift.abs(c) < 9.2e18 { return try a + (try Tensor(shape: [], int64Values: [Int64(c)])) }
        return try unary(AddScalar(c: c), try a.floatingPoint("add"))
    }
    public static func - (a: Tensor, c: Float) throws -> Tensor { try a + (-c) }
    public static func * (a: Tensor, c: Float) throws -> Tensor {
        if a.dtype == .int64, c.rounded() == c, Swift.abs(c) < 9.2e18 { return try a * (try Tensor(shape: [], int64Values: [Int64(c)])) }
        return try unary(MulScalar(c: c), try a.floatingPoint("mul"))
    }
    public static func / (a: Tensor, c: Float) throws -> Tensor { try unary(MulScalar(c: 1 / c), try a.floatingPoint("div")) }
    public static prefix func - (a: Tensor) throws -> Tensor {
        if a.dtype == .int64 { return try (try Tensor(shape: [], int64Values: [0])) - a }
        return try unary(Neg(), a)
    }

    /// This tensor as float32 (int64 converted), for operations that promote like PyTorch.
    func floatingPoint(_ op: String) throws -> Tensor {
        switch dtype {
        case .float32: return self
        case .int64: return try to(.float32)
        case .bool: throw SwiftTrainError(.invalidArgument, "\(op): bool tensors take no arithmetic; convert with to(float32) first")
        }
    }

    /// A copy converted to `dtype` (float to int64 truncates toward zero, as PyTorch; to bool
    /// tests != 0). Converting to the tensor's own type returns the tensor itself.
    public func to(_ dtype: DType) throws -> Tensor {
        guard dtype != self.dtype else { return self }
        let out = Tensor(uninitialized: shape, dtype: dtype)
        for i in 0..<count {
            let v: Double = switch self.dtype {
            case .float32: Double(data[i])
            case .int64: Double(int64Data[i])
            case .bool: boolData[i] ? 1 : 0
            }
            switch dtype {
            case .float32: out.data[i] = Float(v)
            case .int64:
                guard v.isFinite, Swift.abs(v) < 9.2e18 else {
                    throw SwiftTrainError.invalid("to(int64): value \(v) at element \(i) has no int64 equivalent")
                }
                out.int64Data[i] = Int64(v)
            case .bool: out.boolData[i] = v != 0
            }
        }
        return out
    }

    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(PowFunction.self, self, exponent) }
    public func pow(_ exponent: Float) throws -> Tensor { try unary(PowScalar(exponent: exponent), self) }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(MaximumFunction.self, self, other) }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(MinimumFunction.self, self, other) }
    public func exp() throws -> Tensor { try unary(Exp(), self) }
    public func log() throws -> Tensor { try unary(Log(), self) }
    public func sqrt() throws -> Tensor { try unary(Sqrt(), self) }
    public func rsqrt() throws -> Tensor { try unary(Rsqrt(), self) }
    public func abs() throws -> Tensor { try unary(Abs(), self) }
    /// Limits values to [min, max]; either bound may be nil (torch.clamp).
    public func clamp(min low: Float? = nil, max high: Float? = nil) throws -> Tensor {
        guard low != nil || high != nil else {
            throw SwiftTrainError.invalid("clamp: give at least one of min and max")
        }
        return try unary(ClampFunction(low: low ?? -.infinity, high: high ?? .infinity), self)
    }
    public func relu() throws -> Tensor { try unary(ReLUFunction(), self) }
    public func leakyRelu(negativeSlope: Float = LayerDefaults.leakyRelu.negativeSlope) throws -> Tensor { try unary(LeakyReLUFunction(slope: negativeSlope), self) }
    /// GELU, exact (erf) or with the tanh approximation (approximate "tanh").
    public func gelu(approximateTanh: Bool = LayerDefaults.gelu.approximateTanh) throws -> Tensor { try unary(GELUFunction(tanhApproximation: approximateTanh), self) }
    public func silu() throws -> Tensor { try unary(SiLUFunction(), self) }
    public func tanh() throws -> Tensor { try unary(TanhFunction(), self) }
    public func sigmoid() throws -> Tensor { try unary(SigmoidFunction(), self) }
    public func softplus(beta: Float = LayerDefaults.softplus.beta, threshold: Float = LayerDefaults.softplus.threshold) throws -> Tensor {
        guard beta != 0 else { throw SwiftTrainError.invalid("softplus: beta must not be 0") }
        return try unary(SoftplusFunction(beta: beta, threshold: threshold), self)
    }
}
