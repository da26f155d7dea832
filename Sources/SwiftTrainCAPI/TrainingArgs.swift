import CSwiftTrain
import SwiftTrain

extension TrainingArguments {
    /// The arguments of a C struct; throws naming a field that holds an unknown enum value.
    init(_ c: st_training_args) throws {
        guard c.version == ST_TRAINING_ARGS_VERSION else {
            throw SwiftTrainError(.invalidArgument,
                "st_training_args.version is \(c.version) but this library knows version \(ST_TRAINING_ARGS_VERSION); "
                    + "fill the struct with st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)")
        }
        func pick<T: RawRepresentable<Int32>>(_ raw: UInt32, _ field: String, _ names: String) throws -> T {
            guard let v = T(rawValue: Int32(bitPattern: raw)) else {
                throw SwiftTrainError(.invalidArgument,
                                      "\(field): unknown value \(Int32(bitPattern: raw)); use one of \(names)")
            }
            return v
        }
        self.init()
        numTrainEpochs = c.num_train_epochs
        maxSteps = Int(c.max_steps)
        perDeviceTrainBatchSize = Int(c.per_device_train_batch_size)
        perDeviceEvalBatchSize = Int(c.per_device_eval_batch_size)
        optim = try pick(c.optim.rawValue, "optim", "ST_OPTIM_ADAMW, ST_OPTIM_SGD")
        learningRate = c.learning_rate
        weightDecay = c.weight_decay
        adamBeta1 = c.adam_beta1
        adamBeta2 = c.adam_beta2
        adamEpsilon = c.adam_epsilon
        sgdMomentum = c.sgd_momentum
        maxGradNorm = c.max_grad_norm
        lrSchedulerType = try pick(c.lr_scheduler_type.rawValue, "lr_scheduler_type", "ST_LR_LINEAR, ST_LR_CONSTANT")
        warmupSteps = Int(c.warmup_steps)
        loggingStrategy = try pick(c.logging_strategy.rawValue, "logging_strategy",
                                   "ST_STRATEGY_NO, ST_STRATEGY_STEPS, ST_STRATEGY_EPOCH")
        loggingSteps = Int(c.logging_steps)
        loggingFirstStep = c.logging_first_step
        evalStrategy = try pick(c.eval_strategy.rawValue, "eval_strategy",
                                "ST_STRATEGY_NO, ST_STRATEGY_STEPS, ST_STRATEGY_EPOCH")
        evalSteps = Int(c.eval_steps)
        seed = Int(c.seed)
        dataSeed = Int(c.data_seed)
        dataloaderDropLast = c.dataloader_drop_last
    }

    /// These arguments as a C struct.
    var c: st_training_args {
        var c = st_training_args()
        c.version = UInt32(ST_TRAINING_ARGS_VERSION)
        c.num_train_epochs = numTrainEpochs
        c.max_steps = Int64(maxSteps)
        c.per_device_train_batch_size = Int64(perDeviceTrainBatchSize)
        c.per_device_eval_batch_size = Int64(perDeviceEvalBatchSize)
        c.optim = st_optimizer(rawValue: UInt32(optim.rawValue))
        c.learning_rate = learningRate
        c.weight_decay = weightDecay
        c.adam_beta1 = adamBeta1
        c.adam_beta2 = adamBeta2
        c.adam_epsilon = adamEpsilon
        c.sgd_momentum = sgdMomentum
        c.max_grad_norm = maxGradNorm
        c.lr_scheduler_type = st_lr_scheduler(rawValue: UInt32(lrSchedulerType.rawValue))
        c.warmup_steps = Int64(warmupSteps)
        c.logging_strategy = st_interval_strategy(rawValue: UInt32(loggingStrategy.rawValue))
        c.logging_steps = Int64(loggingSteps)
        c.logging_first_step = loggingFirstStep
        c.eval_strategy = st_interval_strategy(rawValue: UInt32(evalStrategy.rawValue))
        c.eval_steps = Int64(evalSteps)
        c.seed = Int64(seed)
        c.data_seed = Int64(dataSeed)
        c.dataloader_drop_last = dataloaderDropLast
        return c
    }
}

@c @implementation
public func st_training_args_init(_ args: UnsafeMutablePointer<st_training_args>?, _ version: UInt32) -> Int32 {
    status {
        let out = try required(args, "st_training_args_init", "args")
        guard version == ST_TRAINING_ARGS_VERSION else {
            throw SwiftTrainError(.invalidArgument,
                "st_training_args_init: version \(version) is not supported; pass ST_TRAINING_ARGS_VERSION "
                    + "(\(ST_TRAINING_ARGS_VERSION)) from the swifttrain.h this library was built with")
        }
        out.pointee = TrainingArguments().c
    }
}

@c @implementation
public func st_training_args_set(_ args: UnsafeMutablePointer<st_training_args>?, _ name: UnsafePointer<CChar>?,
                                 _ value: UnsafePointer<CChar>?) -> Int32 {
    status {
        let fn = "st_training_args_set"
        let c = try required(args, fn, "args")
        let key = String(cString: try required(name, fn, "name"))
        let text = String(cString: try required(value, fn, "value"))
        var swiftArgs = try TrainingArguments(c.pointee)
        try swiftArgs.set(key, text)
        c.pointee = swiftArgs.c
    }
}

@c @implementation
public func st_training_args_validate(_ args: UnsafePointer<st_training_args>?) -> Int32 {
    status {
        try TrainingArguments(try required(args, "st_training_args_validate", "args").pointee).validate()
    }
}

@c @implementation
public func st_loss_from_name(_ out: UnsafeMutablePointer<st_loss>?, _ name: UnsafePointer<CChar>?) -> Int32 {
    status {
        let fn = "st_loss_from_name"
        let kind = try LossKind(name: String(cString: try required(name, fn, "name")))
        try required(out, fn, "out").pointee = st_loss(rawValue: UInt32(kind.rawValue))
    }
}
