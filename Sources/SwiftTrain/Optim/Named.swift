/// Optimizers and schedules built from names and option lists, as HF's Trainer builds them
/// from TrainingArguments (`optim`, `optim_args`, `lr_scheduler_type`,
/// `lr_scheduler_kwargs`). One place serves the Trainer, the C API and the Python face.
extension Optimizer {
    /// The hyper-parameters of the optimizer HF's Trainer makes from its arguments: the kind's
    /// defaults, then `learningRate` and `weightDecay`, beta1 (the momentum of Adam, AdamW and
    /// Lion), beta2, Adam's eps and SGD / RMSprop's momentum from the arguments (HF's
    /// adam_beta1, ..., sgd_momentum), and what `optimArgs` gives (HF's optim_args).
    public static func options(_ kind: TrainingArguments.OptimizerKind, learningRate: Double, weightDecay: Double,
                               beta1: Double, beta2: Double, epsilon: Double, sgdMomentum: Double,
                               optimArgs: String) throws -> OptimizerDefaults {
        var list = try OptionList(optimArgs, "optim_args")
        var o = OptimizerDefaults.of(kind)
        (o.lr, o.weightDecay) = (learningRate, weightDecay)
        switch kind {
        case .adamw, .adam:
            (o.momentum, o.beta2) = (beta1, beta2)
            o.eps = try list.double("eps", epsilon)
            o.amsgrad = try list.bool("amsgrad", o.amsgrad)
        case .sgd:
            o.momentum = try list.double("momentum", sgdMomentum)
            o.dampening = try list.double("dampening", o.dampening)
            o.nesterov = try list.bool("nesterov", o.nesterov)
        case .rmsprop:
            o.momentum = try list.double("momentum", sgdMomentum)
            o.alpha = try list.double("alpha", o.alpha)
            o.eps = try list.double("eps", o.eps)
            o.centered = try list.bool("centered", o.centered)
        case .adagrad:
            o.lrDecay = try list.double("lr_decay", o.lrDecay)
            o.initialAccumulatorValue = try list.double("initial_accumulator_value", o.initialAccumulatorValue)
            o.eps = try list.double("eps", o.eps)
        case .adadelta:
            o.rho = try list.double("rho", o.rho)
            o.eps = try list.double("eps", o.eps)
        case .lion:
            (o.momentum, o.beta2) = (beta1, beta2)
        }
        try list.finish("optim \(kind)")
        return o
    }

    /// The optimizer `kind` over `groups` (their momentum is set here from the arguments), as
    /// HF's Trainer makes it: `options(...)` then `make(_:groups:options:)`.
    public static func make(_ kind: TrainingArguments.OptimizerKind, groups: [ParameterGroup], beta1: Double, beta2: Double,
                            epsilon: Double, sgdMomentum: Double, optimArgs: String) throws -> Optimizer {
        let first = groups.first
        let o = try options(kind, learningRate: first?.learningRate ?? 0, weightDecay: first?.weightDecay ?? 0, beta1: beta1,
                            beta2: beta2, epsilon: epsilon, sgdMomentum: sgdMomentum, optimArgs: optimArgs)
        return try make(kind, groups: groups, options: o)
    }

    /// The optimizer `kind` over `groups` with the optimizer-wide hyper-parameters of
    /// `options`; every group's momentum (beta1) is set to `options.momentum` (its lr and
    /// weight decay are the group's own).
    public static func make(_ kind: TrainingArguments.OptimizerKind, groups: [ParameterGroup],
                            options o: OptimizerDefaults) throws -> Optimizer {
        let g = groups.map { var g = $0; g.momentum = o.momentum; return g }
        switch kind {
        case .sgd: return try SGD(g, dampening: o.dampening, nesterov: o.nesterov)
        case .adam, .adamw:
            return try Adam(g, beta2: o.beta2, epsilon: o.eps, amsgrad: o.amsgrad, decoupledWeightDecay: kind == .adamw)
        case .rmsprop: return try RMSprop(g, alpha: o.alpha, epsilon: o.eps, centered: o.centered)
        case .adagrad:
            return try Adagrad(g, lrDecay: o.lrDecay, initialAccumulatorValue: o.initialAccumulatorValue, epsilon: o.eps)
        case .adadelta: return try Adadelta(g, rho: o.rho, epsilon: o.eps)
        case .lion: return try Lion(g, beta2: o.beta2)
        }
    }
}

extension LRSchedule {
    /// HF's `get_scheduler(name, ...)` for every name but reduce_lr_on_plateau (see
    /// `ReduceLROnPlateau.make`). `initialLR` is the optimizer's default lr (polynomial and
    /// cosine_with_min_lr's min_lr are relative to it).
    public static func make(_ kind: TrainingArguments.SchedulerKind, warmup: Int, total: Int, kwargs: String,
                            initialLR: Double) throws -> LRSchedule {
        var o = try OptionList(kwargs, "lr_scheduler_kwargs")
        let schedule: LRSchedule
        switch kind {
        case .linear: schedule = .linear(warmup: warmup, total: total)
        case .constant: schedule = .constant(warmup: 0)
        case .constantWithWarmup: schedule = .constant(warmup: warmup)
        case .cosine: schedule = .cosine(warmup: warmup, total: total, cycles: try o.double("num_cycles", 0.5))
        case .cosineWithRestarts:
            schedule = .cosineWithRestarts(warmup: warmup, total: total, cycles: try o.double("num_cycles", 1))
        case .polynomial:
            let lrEnd = try o.double("lr_end", 1e-7), power = try o.double("power", 1)
            guard initialLR > lrEnd else {
                throw SwiftTrainError.invalid("polynomial schedule: lr_end (\(lrEnd)) must be smaller than the initial lr (\(initialLR))")
            }
            schedule = .polynomial(warmup: warmup, total: total, lrEnd: lrEnd, power: power, lrInit: initialLR)
        case .inverseSqrt:
            let timescale = try o.optionalInt("timescale") ?? (warmup > 0 ? warmup : 10_000)
            guard timescale > 0 else { throw SwiftTrainError.invalid("inverse_sqrt schedule: timescale must be positive") }
            schedule = .inverseSqrt(warmup: warmup, timescale: timescale)
        case .cosineWithMinLR:
            let minLR = try o.optionalDouble("min_lr"), rate = try o.optionalDouble("min_lr_rate")
            guard minLR == nil || initialLR > 0 else {
                throw SwiftTrainError.invalid("cosine_with_min_lr schedule: min_lr needs a positive initial lr; give min_lr_rate instead")
            }
            guard (minLR == nil) != (rate == nil) else {
                throw SwiftTrainError.invalid("cosine_with_min_lr schedule: give exactly one of min_lr and min_lr_rate in lr_scheduler_kwargs")
            }
            schedule = .cosineWithMinLR(warmup: warmup, total: total, cycles: try o.double("num_cycles", 0.5),
                                        minLRRate: rate ?? minLR! / initialLR)
        case .warmupStableDecay:
            let decay = try o.optionalInt("num_decay_steps")
            guard let decay, decay >= 0 else {
                throw SwiftTrainError.invalid("warmup_stable_decay schedule: lr_scheduler_kwargs needs num_decay_steps >= 0")
            }
            let stable = try o.optionalInt("num_stable_steps") ?? (total - warmup - decay)
            guard stable >= 0 else {
                throw SwiftTrainError.invalid("warmup_stable_decay schedule: warmup \(warmup) + decay \(decay) exceed the \(total) steps")
            }
            func shape(_ key: String, _ fallback: String) throws -> WSDShape {
                let text = o.string(key, fallback)
                guard let s = WSDShape(rawValue: text) else {
                    throw SwiftTrainError.invalid("warmup_stable_decay schedule: \(key) '\(text)' must be linear, cosine or 1-sqrt")
                }
                return s
            }
            schedule = .warmupStableDecay(warmup: warmup, stable: stable, decay: decay, warmupType: try shape("warmup_type", "linear"),
                                          decayType: try shape("decay_type", "cosine"), minLRRatio: try o.double("min_lr_ratio", 0),
                                          cycles: try o.double("num_cycles", 0.5))
        case .step:
            let size = try o.int("step_size", 0)
            guard size > 0 else { throw SwiftTrainError.invalid("step schedule: lr_scheduler_kwargs needs step_size > 0") }
            schedule = .step(stepSize: size, gamma: try o.double("gamma", LayerDefaults.stepLR.gamma))
        case .exponential:
            guard let gamma = try o.optionalDouble("gamma") else {
                throw SwiftTrainError.invalid("exponential schedule: lr_scheduler_kwargs needs gamma")
            }
            schedule = .exponential(gamma: gamma)
        case .reduceLROnPlateau:
            throw SwiftTrainError.invalid("reduce_lr_on_plateau is driven by evaluation metrics, not by the step; use ReduceLROnPlateau.make")
        }
        try o.finish("lr_scheduler_type \(kind)")
        return schedule
    }
}

extension ReduceLROnPlateau {
    /// From HF's lr_scheduler_kwargs (PyTorch's argument names).
    public static func make(kwargs: String) throws -> ReduceLROnPlateau {
        var o = try OptionList(kwargs, "lr_scheduler_kwargs")
        var p = ReduceLROnPlateau()  // the defaults (LayerDefaults.reduceLROnPlateau) for what is not given
        guard let mode = Mode(rawValue: o.string("mode", p.mode.rawValue)) else {
            throw SwiftTrainError.invalid("reduce_lr_on_plateau: mode must be min or max")
        }
        guard let thresholdMode = ThresholdMode(rawValue: o.string("threshold_mode", p.thresholdMode.rawValue)) else {
            throw SwiftTrainError.invalid("reduce_lr_on_plateau: threshold_mode must be rel or abs")
        }
        p.mode = mode
        p.thresholdMode = thresholdMode
        p.factor = try o.double("factor", p.factor)
        p.patience = try o.int("patience", p.patience)
        p.threshold = try o.double("threshold", p.threshold)
        p.cooldown = try o.int("cooldown", p.cooldown)
        p.minLR = try o.double("min_lr", p.minLR)
        p.eps = try o.double("eps", p.eps)
        try o.finish("reduce_lr_on_plateau")
        try p.validate()
        return p
    }
}

/// AllenNLP's inverted-triangular momentum schedule, stepped per epoch: momentum falls from
/// m to m/ratio over `coolDown` epochs, rises back over `warmUp` epochs, then stays at m.
public struct MomentumSchedule: Sendable, Equatable {
    public let coolDown: Int, warmUp: Int, ratio: Double

    public static func make(kwargs: String) throws -> MomentumSchedule {
        var o = try OptionList(kwargs, "momentum_scheduler_kwargs")
        let s = MomentumSchedule(coolDown: try o.int("cool_down", 0), warmUp: try o.int("warm_up", 0), ratio: try o.double("ratio", 10))
        try o.finish("inverted_triangular")
        guard s.coolDown > 0, s.warmUp > 0, s.ratio > 0 else {
            throw SwiftTrainError.invalid("inverted_triangular momentum schedule: cool_down and warm_up (epochs) and ratio must be positive")
        }
        return s
    }

    /// The momentum for epoch `epoch` (0-based) given the base momentum.
    public func momentum(base m: Double, epoch: Int) -> Double {
        let step = Double(epoch)
        if epoch <= coolDown { return m - (m - m / ratio) * (step / Double(coolDown)) }
        if epoch <= coolDown + warmUp { return m / ratio + (m - m / ratio) * (step - Double(coolDown)) / Double(warmUp) }
        return m
    }
}
