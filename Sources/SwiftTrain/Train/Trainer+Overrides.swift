// HF's overridable Trainer methods, for a binding whose subclass overrides them: the trainer
// calls logFunction for every log it emits, evaluateFunction for every evaluation during
// training and optimizerFunction when training starts, and trains with the optimizer and
// schedule it is given (HF's optimizers=(optimizer, scheduler)). Unset, nothing changes and
// nothing costs a step.
extension Trainer {
    /// Every log the trainer emits (the training loss every logging_steps, each evaluation's
    /// metrics, train()'s summary): to logFunction when set (which records what it wants
    /// through `log(_:)`), else into the log history.
    func emit(_ logs: Metrics) throws {
        guard let logFunction, !inLogFunction else { return try record(logs) }
        inLogFunction = true
        defer { inLogFunction = false }
        try logFunction(logs)
    }

    /// An evaluation during training: evaluateFunction when set, else every evaluation
    /// dataset. Either way its metrics then drive best-model tracking, early stopping and
    /// reduce_lr_on_plateau (HF: the metrics its evaluate() returns).
    @discardableResult
    func evaluateInTraining() throws -> Metrics {
        guard let evaluateFunction, !inEvaluateFunction else { return try evaluateAll() }
        let observe = afterEvaluation
        (afterEvaluation, inEvaluateFunction) = (nil, true)
        defer { (afterEvaluation, inEvaluateFunction) = (observe, false) }
        let metrics = try evaluateFunction()
        try observe?(metrics)
        return metrics
    }

    /// Sets the optimizer and learning-rate schedule train() uses (HF's
    /// optimizers=(optimizer, scheduler)); nil makes that one from the arguments again. Every
    /// parameter of `optimizer` must be one of the model's (a subset is fine: the others are
    /// not updated). The schedule sets each group's lr from its initial lr, step by step; it
    /// cannot be combined with lr_scheduler_type reduce_lr_on_plateau. The optimizer keeps
    /// its state from one train() to the next, as HF's does; checkpoints save and restore it.
    public func setOptimizer(_ optimizer: Optimizer?, schedule: LRSchedule?) throws {
        guard !running else {
            throw SwiftTrainError.misuse("the optimizer cannot change while the trainer runs; set it before train()")
        }
        try checkGiven(optimizer, schedule: schedule)
        (givenOptimizer, givenSchedule) = (optimizer, schedule)
    }

    /// Throws, saying why, when training cannot use `optimizer` and `schedule`.
    func checkGiven(_ optimizer: Optimizer?, schedule: LRSchedule?) throws {
        if let optimizer {
            let own = Set(model.parameters.map(ObjectIdentifier.init))
            for (g, group) in optimizer.paramGroups.enumerated() {
                for (i, p) in group.parameters.enumerated() where !own.contains(ObjectIdentifier(p)) {
                    throw SwiftTrainError.invalid("the optimizer's parameter \(i) of group \(g) \(p.shape) is not a parameter "
                        + "of the trainer's model; build the optimizer from model.parameters()")
                }
            }
        }
        if schedule != nil && args.lrSchedulerType == .reduceLROnPlateau {
            throw SwiftTrainError.invalid("a learning-rate schedule was given with lr_scheduler_type reduce_lr_on_plateau, "
                + "which sets the rates from the evaluations; give one or the other")
        }
    }

    /// The optimizer the arguments describe (HF's create_optimizer): optim over two groups,
    /// the parameters with weight decay and those without (biases and normalisation layers).
    func makeOptimizer() throws -> Optimizer {
        let named = model.namedParameters
        let groups = [
            ParameterGroup(named.filter(\.decays).map(\.tensor), learningRate: args.learningRate, weightDecay: args.weightDecay),
            ParameterGroup(named.filter { !$0.decays }.map(\.tensor), learningRate: args.learningRate, weightDecay: 0),
        ].filter { !$0.parameters.isEmpty }
        return try Optimizer.make(args.optim, groups: groups, options: optimizerOptions())
    }

    /// The optimizer-wide hyper-parameters of the optimizer the arguments describe (`optim`,
    /// `learning_rate`, `weight_decay`, `adam_beta1`, ..., `optim_args`).
    public func optimizerOptions() throws -> OptimizerDefaults {
        try Optimizer.options(args.optim, learningRate: args.learningRate, weightDecay: args.weightDecay,
                              beta1: args.adamBeta1, beta2: args.adamBeta2, epsilon: args.adamEpsilon,
                              sgdMomentum: args.sgdMomentum, optimArgs: args.optimArgs)
    }

    /// Whether the model's parameter `name` (a state-dict name) gets weight decay in the
    /// optimizer the arguments describe: not biases, not normalisation layers' (HF's
    /// get_decay_parameter_names). Nil when the model has no parameter of that name.
    public func parameterDecays(_ name: String) -> Bool? {
        model.namedParameters.first { $0.name == name }?.decays
    }

    /// The learning-rate schedule the arguments describe for `total` optimizer steps (HF's
    /// create_scheduler): lr_scheduler_type with its warmup and kwargs. Throws for
    /// reduce_lr_on_plateau, which is no function of the step.
    public func makeSchedule(total: Int) throws -> LRSchedule {
        guard args.lrSchedulerType != .reduceLROnPlateau else {
            throw SwiftTrainError.invalid("lr_scheduler_type reduce_lr_on_plateau sets the rates from the evaluations, "
                + "not from the step; the trainer applies it itself")
        }
        return try LRSchedule.make(args.lrSchedulerType, warmup: try args.resolvedWarmup(total: total), total: total,
                                   kwargs: args.lrSchedulerKwargs, initialLR: args.learningRate)
    }
}
