/// A trainable parameter with its dotted name ("0.weight") and whether weight decay applies
/// to it (as in HF's Trainer, biases and normalisation weights get none).
public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    public let decays: Bool
}

/// A layer or a container of layers (like torch.nn.Module).
public protocol Module: AnyObject {
    /// Runs the module on a batch [batch, features].
    func forward(_ input: Tensor) throws -> Tensor
    /// The parameters of this module and its children, in a stable order.
    var namedParameters: [NamedParameter] { get }
    /// The number of output features for `inputFeatures` input features; throws, naming
    /// the layer, when they do not fit.
    func outputFeatures(forInput inputFeatures: Int) throws -> Int
    /// The number of input features the module requires, or nil if it takes any number.
    var inputFeatures: Int? { get }
}

extension Module {
    /// The parameter tensors.
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// The number of scalar parameters.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

    /// Drops every parameter's gradient.
    public func zeroGrad() { for p in namedParameters { p.tensor.zeroGrad() } }
}

/// A fully connected layer `y = x W^T + b` (torch.nn.Linear): W is [out, in], b is [out],
/// both initialised uniformly in +-1/sqrt(in) from the default generator, as PyTorch does.
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws {
        guard inFeatures > 0, outFeatures > 0 else {
            throw SwiftTrainError.invalid(
                "Linear(\(inFeatures), \(outFeatures)): in_features and out_features must be positive")
        }
        guard inFeatures.multipliedReportingOverflow(by: outFeatures).partialValue <= 1 << 31,
              !inFeatures.multipliedReportingOverflow(by: outFeatures).overflow else {
            throw SwiftTrainError.invalid(
                "Linear(\(inFeatures), \(outFeatures)): the weight would have more than 2^31 elements")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        let w = Tensor.zeros([outFeatures, inFeatures], requiresGrad: true)
        let b = bias ? Tensor.zeros([outFeatures], requiresGrad: true) : nil
        DefaultGenerator.withGenerator { gen in
            for i in 0..<w.count { w.storage.base[i] = gen.uniform(-bound, bound) }
            if let b { for i in 0..<b.count { b.storage.base[i] = gen.uniform(-bound, bound) } }
        }
        self.weight = w
        self.bias = b
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        try input.linear(weight: weight, bias: bias)
    }

    public var inputFeatures: Int? { inFeatures }

    public var namedParameters: [NamedParameter] {
        var p = [NamedParameter(name: "weight", tensor: weight, decays: true)]
        if let bias { p.append(NamedParameter(name: "bias", tensor: bias, decays: false)) }
        return p
    }

    public func outputFeatures(forInput inputFeatures: Int) throws -> Int {
        guard inputFeatures == inFeatures else {
            throw SwiftTrainError.shape(
                "Linear(\(inFeatures), \(outFeatures)) expects \(inFeatures) input features, got \(inputFeatures)")
        }
        return outFeatures
    }
}

/// Element-wise max(x, 0) (torch.nn.ReLU).
public final class ReLU: Module {
    public init() {}
    public func forward(_ input: Tensor) throws -> Tensor { input.relu() }
    public var namedParameters: [NamedParameter] { [] }
    public func outputFeatures(forInput inputFeatures: Int) throws -> Int { inputFeatures }
    public var inputFeatures: Int? { nil }
}

/// Runs its children in order (torch.nn.Sequential). Children are named "0", "1", ...
public final class Sequential: Module {
    public let children: [Module]

    public init(_ children: [Module]) throws {
        var seen = Set<ObjectIdentifier>()
        for (i, child) in children.enumerated() where !seen.insert(ObjectIdentifier(child)).inserted {
            throw SwiftTrainError.invalid(
                "Sequential: module \(i) appears twice; create a separate module for each position")
        }
        // Adjacent layers must fit: Linear(4, 5) cannot feed Linear(3, 2).
        var width: Int? = nil
        for (i, child) in children.enumerated() {
            guard let w = width ?? child.inputFeatures else { continue }
            do { width = try child.outputFeatures(forInput: w) } catch let error as SwiftTrainError {
                throw SwiftTrainError(error.code, "Sequential: module \(i) does not accept the \(w) features "
                    + "module \(i - 1) produces: \(error.message)")
            }
        }
        self.children = children
    }

    public convenience init(_ children: Module...) throws { try self.init(children) }

    public func forward(_ input: Tensor) throws -> Tensor {
        var x = input
        for child in children { x = try child.forward(x) }
        return x
    }

    public var namedParameters: [NamedParameter] {
        children.enumerated().flatMap { i, child in
            child.namedParameters.map {
                NamedParameter(name: "\(i).\($0.name)", tensor: $0.tensor, decays: $0.decays)
            }
        }
    }

    public var inputFeatures: Int? { children.lazy.compactMap(\.inputFeatures).first }

    public func outputFeatures(forInput inputFeatures: Int) throws -> Int {
        var n = inputFeatures
        for (i, child) in children.enumerated() {
            do { n = try child.outputFeatures(forInput: n) } catch var e as SwiftTrainError {
                e.message = "layer \(i): \(e.message)"
                throw e
            }
        }
        return n
    }
}
