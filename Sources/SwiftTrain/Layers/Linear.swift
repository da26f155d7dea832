/// A fully connected layer `y = x W^T + b` (torch.nn.Linear): W is [out, in], b is [out],
/// both initialised uniformly in +-1/sqrt(in) from the default generator, as PyTorch does.
/// Input [..., in], output [..., out].
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public var isTraining = true

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = LayerDefaults.linear.bias) throws {
        try Init.positive(inFeatures, outFeatures, names: ["in_features", "out_features"], in: "Linear")
        guard !inFeatures.multipliedReportingOverflow(by: outFeatures).overflow, inFeatures * outFeatures <= 1 << 31 else {
            throw SwiftTrainError.invalid("Linear(\(inFeatures), \(outFeatures)): the weight would have more than 2^31 elements")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = try Init.uniform([outFeatures, inFeatures], bound: bound)
        self.bias = bias ? try Init.uniform([outFeatures], bound: bound) : nil
    }

    public func forward(_ input: Tensor) throws -> Tensor { try input.linear(weight: weight, bias: bias) }
    public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
    public var description: String { "Linear(\(inFeatures), \(outFeatures)\(bias == nil ? ", bias=False" : ""))" }
}
