import PublicHeader
import SwiftTrain

// Optimizers, schedules and ReduceLROnPlateau as handles, for loops written by hand.

private func kindArgument(_ kind: st_optimizer, _ fn: String) throws -> TrainingArguments.OptimizerKind {
    guard let k = TrainingArguments.OptimizerKind(rawValue: Int32(bitPattern: kind.rawValue)) else {
        throw SwiftTrainError(.invalidArgument, "\(fn): unknown optimizer \(Int32(bitPattern: kind.rawValue)); use an ST_OPTIM_* value")
    }
    return k
}

@c @implementation
public func st_optim_options_init_sized(_ options: UnsafeMutablePointer<st_optim_options>?, _ structSize: Int,
                                        _ kind: st_optimizer) -> st_status {
    status {
        let fn = "st_optim_options_init"
        let o = try required(options, fn, "options")
        let k = try kindArgument(kind, fn)
        guard initSized(o, structSize, defaults: optimDefaults(k), firstSize: FirstVersion.optim) else {
            throw SwiftTrainError(.invalidArgument,
                "\(fn): struct_size \(structSize) is not the size of an st_optim_options (at least \(MemoryLayout<st_optim_options>.size))")
        }
    }
}

func optimDefaults(_ k: TrainingArguments.OptimizerKind) -> st_optim_options {
    optimOptions(OptimizerDefaults.of(k))
}

/// The C struct of optimizer hyper-parameters.
func optimOptions(_ d: OptimizerDefaults) -> st_optim_options {
    st_optim_options(struct_size: librarySize(st_optim_options.self), lr: d.lr, weight_decay: d.weightDecay,
                     momentum: d.momentum, beta2: d.beta2, eps: d.eps, dampening: d.dampening, nesterov: d.nesterov,
                     amsgrad: d.amsgrad, centered: d.centered, alpha: d.alpha, lr_decay: d.lrDecay,
                     initial_accumulator_value: d.initialAccumulatorValue, rho: d.rho)
}

/// The core's hyper-parameters from the C struct.
private func optimizerDefaults(_ o: st_optim_options, _ kind: TrainingArguments.OptimizerKind) -> OptimizerDefaults {
    var d = OptimizerDefaults.of(kind)
    (d.lr, d.weightDecay, d.momentum, d.beta2, d.eps) = (o.lr, o.weight_decay, o.momentum, o.beta2, o.eps)
    (d.dampening, d.nesterov, d.amsgrad, d.centered, d.alpha) = (o.dampening, o.nesterov, o.amsgrad, o.centered, o.alpha)
    (d.lrDecay, d.initialAccumulatorValue, d.rho) = (o.lr_decay, o.initial_accumulator_value, o.rho)
    return d
}

@c @implementation
public func st_optim_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ kind: st_optimizer,
                            _ params: UnsafePointer<OpaquePointer?>?, _ count: Int,
                            _ options: UnsafePointer<st_optim_options>?) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let fn = "st_optim_create"
        let k = try kindArgument(kind, fn)
        let o = try readSized(try required(options, fn, "options"), defaults: optimDefaults(k),
                              firstSize: FirstVersion.optim, fn, "options",
                              initName: "st_optim_options_init")
        let tensors = try tensorList(params, count, fn)
        let group = [ParameterGroup(tensors, learningRate: o.lr, weightDecay: o.weight_decay, momentum: o.momentum)]
        let optimizer = try Optimizer.make(k, groups: group, options: optimizerDefaults(o, k))
        try Handle.output(out, fn) { optimizer }
    }
}

private func optim(_ handle: OpaquePointer?, _ fn: String) throws -> Optimizer {
    try Handle.get(handle, as: Optimizer.self, fn, "optim")
}

@c @implementation
public func st_optim_add_param_group(_ handle: OpaquePointer?, _ params: UnsafePointer<OpaquePointer?>?, _ count: Int,
                                     _ lr: Double, _ weightDecay: Double, _ momentum: Double) -> st_status {
    status {
        let fn = "st_optim_add_param_group"
        let o = try optim(handle, fn)
        try o.addParamGroup(ParameterGroup(try tensorList(params, count, fn), learningRate: lr, weightDecay: weightDecay,
                                           momentum: momentum))
    }
}

@c @implementation
public func st_optim_step(_ handle: OpaquePointer?) -> st_status {
    status { try optim(handle, "st_optim_step").step() }
}

@c @implementation
public func st_optim_zero_grad(_ handle: OpaquePointer?) -> st_status {
    status { try optim(handle, "st_optim_zero_grad").zeroGrad() }
}

@c @implementation
public func st_optim_num_param_groups(_ out: UnsafeMutablePointer<Int>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let o = try optim(handle, "st_optim_num_param_groups")
        try required(out, "st_optim_num_param_groups", "out").pointee = o.paramGroups.count
    }
}

private func groupIndex(_ o: Optimizer, _ group: Int, _ fn: String) throws -> Int {
    guard group >= 0, group < o.paramGroups.count else {
        throw SwiftTrainError(.invalidArgument, "\(fn): group \(group) is out of range; there are \(o.paramGroups.count)")
    }
    return group
}

@c @implementation
public func st_optim_get_param_group(_ out: UnsafeMutablePointer<st_param_group_info>?, _ handle: OpaquePointer?,
                                     _ group: Int) -> st_status {
    status {
        let fn = "st_optim_get_param_group"
        let o = try optim(handle, fn)
        let g = o.paramGroups[try groupIndex(o, group, fn)]
        try required(out, fn, "out").pointee = st_param_group_info(
            num_params: g.parameters.count, lr: g.learningRate, initial_lr: g.initialLearningRate,
            weight_decay: g.weightDecay, momentum: g.momentum)
    }
}

@c @implementation
public func st_optim_set_param_group(_ handle: OpaquePointer?, _ group: Int, _ info: UnsafePointer<st_param_group_info>?) -> st_status {
    status {
        let fn = "st_optim_set_param_group"
        let o = try optim(handle, fn)
        let i = try groupIndex(o, group, fn), v = try required(info, fn, "info").pointee
        try o.setParamGroup(i, learningRate: v.lr, weightDecay: v.weight_decay, momentum: v.momentum)
    }
}

@c @implementation
public func st_optim_state_dict(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ handle: OpaquePointer?) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let state = try optim(handle, "st_optim_state_dict").stateDict()
        let box = NamedTensorsBox()
        for index in state.keys.sorted() {
            for (field, t) in state[index]!.sorted(by: { $0.key < $1.key }) { box.append("\(index).\(field)", t) }
        }
        try Handle.output(out, "st_optim_state_dict") { box }
    }
}

@c @implementation
public func st_optim_load_state_dict(_ handle: OpaquePointer?, _ state: OpaquePointer?) -> st_status {
    status {
        let fn = "st_optim_load_state_dict"
        let o = try optim(handle, fn)
        var byIndex: [Int: [String: Tensor]] = [:]
        for (name, t) in try Handle.get(state, as: NamedTensorsBox.self, fn, "state").dictionary {
            let parts = name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let index = Int(parts[0]) else {
                throw SwiftTrainError(.invalidArgument, "\(fn): '\(name)' is not '<parameter index>.<field>'")
            }
            byIndex[index, default: [:]][String(parts[1])] = t
        }
        try o.loadStateDict(byIndex)
    }
}

@c @implementation
public func st_optim_free(_ handle: OpaquePointer?) {
    Handle.release(handle)
}

/// A schedule handle.
final class ScheduleBox {
    let schedule: LRSchedule
    init(_ schedule: LRSchedule) { self.schedule = schedule }
}

/// A ReduceLROnPlateau handle.
final class PlateauBox {
    var plateau: ReduceLROnPlateau
    init(_ plateau: ReduceLROnPlateau) { self.plateau = plateau }
}

@c @implementation
public func st_lr_schedule_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ kind: st_lr_scheduler, _ warmup: Int64,
                                  _ total: Int64, _ kwargs: UnsafePointer<CChar>?, _ initialLR: Double) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let fn = "st_lr_schedule_create"
        guard let k = TrainingArguments.SchedulerKind(rawValue: Int32(bitPattern: kind.rawValue)) else {
            throw SwiftTrainError(.invalidArgument, "\(fn): unknown scheduler \(Int32(bitPattern: kind.rawValue)); use an ST_LR_* value")
        }
        guard warmup >= 0, total >= 0, warmup < 1 << 40, total < 1 << 40 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): num_warmup_steps and num_training_steps must be >= 0")
        }
        guard initialLR.isFinite, initialLR >= 0 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): initial_lr must be finite and >= 0, got \(initialLR)")
        }
        let schedule = try LRSchedule.make(k, warmup: Int(warmup), total: Int(total),
                                           kwargs: kwargs.map { String(cString: $0) } ?? "", initialLR: initialLR)
        try Handle.output(out, fn) { ScheduleBox(schedule) }
    }
}

@c @implementation
public func st_lr_schedule_factor(_ out: UnsafeMutablePointer<Double>?, _ handle: OpaquePointer?, _ step: Int64) -> st_status {
    status {
        let fn = "st_lr_schedule_factor"
        let box = try Handle.get(handle, as: ScheduleBox.self, fn, "schedule")
        guard step >= 0, step < 1 << 50 else { throw SwiftTrainError(.invalidArgument, "\(fn): step must be >= 0, got \(step)") }
        try required(out, fn, "out").pointee = box.schedule.factor(at: Int(step))
    }
}

@c @implementation
public func st_lr_schedule_free(_ handle: OpaquePointer?) {
    Handle.release(handle)
}

@c @implementation
public func st_plateau_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ kwargs: UnsafePointer<CChar>?) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let plateau = try ReduceLROnPlateau.make(kwargs: kwargs.map { String(cString: $0) } ?? "")
        try Handle.output(out, "st_plateau_create") { PlateauBox(plateau) }
    }
}

@c @implementation
public func st_plateau_step(_ handle: OpaquePointer?, _ metric: Double, _ rates: UnsafeMutablePointer<Double>?, _ count: Int) -> st_status {
    status {
        let fn = "st_plateau_step"
        let box = try Handle.get(handle, as: PlateauBox.self, fn, "plateau")
        guard count >= 0, count < 1 << 20 else { throw SwiftTrainError(.invalidArgument, "\(fn): count \(count) is out of range") }
        let r = try required(rates, fn, "rates")
        let updated = box.plateau.step(metric: metric, rates: (0..<count).map { r[$0] })
        for (i, v) in updated.enumerated() { r[i] = v }
    }
}

/// The bytes of st_plateau_state both sides know: the caller's struct_size, checked.
private func plateauStateSize(_ size: UInt32, _ fn: String) throws -> Int {
    let minimum = MemoryLayout<st_plateau_state>.offset(of: \st_plateau_state.cooldown_counter)! + MemoryLayout<Int64>.size
    guard Int(size) >= minimum else {
        throw SwiftTrainError(.invalidArgument, "\(fn): struct_size is \(size); set it to sizeof(st_plateau_state)")
    }
    return min(Int(size), MemoryLayout<st_plateau_state>.size)
}

@c @implementation
public func st_plateau_get_state(_ out: UnsafeMutablePointer<st_plateau_state>?, _ handle: OpaquePointer?) -> st_status {
    status {
        let fn = "st_plateau_get_state"
        let destination = try required(out, fn, "out")
        let size = try plateauStateSize(destination.pointee.struct_size, fn)
        let p = try Handle.get(handle, as: PlateauBox.self, fn, "plateau").plateau
        var state = st_plateau_state(struct_size: UInt32(size), best: p.best ?? .nan, num_bad_epochs: Int64(p.badEpochs),
                                     cooldown_counter: Int64(p.cooldownCounter))
        withUnsafeBytes(of: &state) { UnsafeMutableRawPointer(destination).copyMemory(from: $0.baseAddress!, byteCount: size) }
    }
}

@c @implementation
public func st_plateau_set_state(_ handle: OpaquePointer?, _ state: UnsafePointer<st_plateau_state>?) -> st_status {
    status {
        let fn = "st_plateau_set_state"
        let box = try Handle.get(handle, as: PlateauBox.self, fn, "plateau")
        let source = try required(state, fn, "state")
        _ = try plateauStateSize(source.pointee.struct_size, fn)
        let s = source.pointee
        guard s.num_bad_epochs >= 0, s.cooldown_counter >= 0, s.num_bad_epochs <= Int64(Int32.max),
              s.cooldown_counter <= Int64(Int32.max) else {
            throw SwiftTrainError(.invalidArgument, "\(fn): num_bad_epochs \(s.num_bad_epochs) and cooldown_counter "
                + "\(s.cooldown_counter) must be between 0 and 2^31")
        }
        try box.plateau.restore(best: s.best.isNaN ? nil : s.best, badEpochs: Int(s.num_bad_epochs),
                                cooldownCounter: Int(s.cooldown_counter))
    }
}

@c @implementation
public func st_plateau_free(_ handle: OpaquePointer?) {
    Handle.release(handle)
}
