/// The constructor defaults of each optimizer kind: torch.optim's (lion-pytorch's for Lion).
/// This is the one table: the optimizers' initialisers, `Optimizer.make` (optim_args), the C
/// API's st_optim_options_init and, through it, the Python classes' signatures read it.
///
/// Every field has a value for every kind, so a C st_optim_options can be filled whole; a
/// field a kind does not use holds the shared base value (see `base`) and is ignored.
public struct OptimizerDefaults: Sendable, Equatable {
    public var lr: Double
    public var weightDecay: Double
    /// SGD / RMSprop momentum, or beta1 of Adam, AdamW and Lion (`ParameterGroup.momentum`).
    public var momentum: Double
    /// Adam / AdamW / Lion's second beta.
    public var beta2: Double
    public var eps: Double
    /// SGD
    public var dampening: Double
    public var nesterov: Bool
    /// Adam / AdamW
    public var amsgrad: Bool
    /// RMSprop
    public var centered: Bool
    public var alpha: Double
    /// Adagrad
    public var lrDecay: Double
    public var initialAccumulatorValue: Double
    /// Adadelta
    public var rho: Double

    /// The values every kind starts from; each kind then sets the ones PyTorch gives it.
    private static let base = OptimizerDefaults(
        lr: 1e-3, weightDecay: 0, momentum: 0, beta2: 0.999, eps: 1e-8, dampening: 0, nesterov: false, amsgrad: false,
        centered: false, alpha: 0.99, lrDecay: 0, initialAccumulatorValue: 0, rho: 0.9)

    private func with(_ change: (inout OptimizerDefaults) -> Void) -> OptimizerDefaults {
        var d = self
        change(&d)
        return d
    }

    /// torch.optim.SGD
    public static let sgd = base
    /// torch.optim.Adam
    public static let adam = base.with { $0.momentum = 0.9 }
    /// torch.optim.AdamW
    public static let adamw = base.with { $0.momentum = 0.9; $0.weightDecay = 1e-2 }
    /// torch.optim.RMSprop
    public static let rmsprop = base.with { $0.lr = 1e-2 }
    /// torch.optim.Adagrad
    public static let adagrad = base.with { $0.lr = 1e-2; $0.eps = 1e-10 }
    /// torch.optim.Adadelta
    public static let adadelta = base.with { $0.lr = 1; $0.eps = 1e-6 }
    /// lion-pytorch's Lion
    public static let lion = base.with { $0.lr = 1e-4; $0.momentum = 0.9; $0.beta2 = 0.99 }

    /// The defaults of `kind`.
    public static func of(_ kind: TrainingArguments.OptimizerKind) -> OptimizerDefaults {
        switch kind {
        case .sgd: sgd
        case .adam: adam
        case .adamw: adamw
        case .rmsprop: rmsprop
        case .adagrad: adagrad
        case .adadelta: adadelta
        case .lion: lion
        }
    }
}
