/// Every field of HF's `transformers.TrainingArguments` (v5.25, in HF's order) and what swifttrain
/// does with it, followed by swifttrain's own additions: the one table `set`, `json`, the C API
/// (`st_training_args_fields`) and through it the Python package read. Tests/fixtures/
/// hf_training_args.json (written from HF by tools/hf_training_args_fields.py) checks the names,
/// the defaults and that no HF field is missing.
public struct ArgumentField: Sendable {
    public enum Category: String, Sendable {
        /// Used as HF uses it (by the trainer, a front end, or, as in HF, by scripts only).
        case honoured
        /// Accepted and kept (training_args.json round-trips) but it changes nothing on a CPU.
        case noEffect = "no_effect"
        /// Accepted at HF's default only; another value throws `note`.
        case refused
    }
    /// How a value reads: the types of HF's dataclass (`number`: int or float, as HF's *_steps).
    public enum Kind: String, Sendable { case bool, int, float, number, str, list, dict }

    public let name: String
    public let category: Category
    public let kind: Kind
    /// Whether None (null) is a value.
    public let optional: Bool
    /// HF's default (swifttrain's for an addition), as JSON.
    public let defaultValue: JSONValue
    /// Honoured: what it does; no effect: why not; refused: why, and what to do instead.
    public let note: String
    /// A field of HF's TrainingArguments (false: a swifttrain addition, kept out of training_args.json).
    public let isHF: Bool
    /// Whether `TrainingArguments.keptFields` holds the value (false: a property of its own).
    public let isKept: Bool

    /// A field a property of TrainingArguments holds (`set` parses it).
    static func own(_ name: String, _ kind: Kind, _ value: JSONValue, _ note: String, optional: Bool = false,
                    hf: Bool = true) -> ArgumentField {
        ArgumentField(name: name, category: .honoured, kind: kind, optional: optional, defaultValue: value, note: note,
                      isHF: hf, isKept: false)
    }

    /// A field kept as given in `keptFields`.
    static func kept(_ name: String, _ category: Category, _ kind: Kind, _ value: JSONValue, _ note: String,
                     optional: Bool = false) -> ArgumentField {
        ArgumentField(name: name, category: category, kind: kind, optional: optional, defaultValue: value, note: note,
                      isHF: true, isKept: true)
    }
}

extension TrainingArguments {
    /// Every argument, HF's first (in HF's order), then swifttrain's additions.
    public static let fields: [ArgumentField] = hfFields + additions

    /// The fields by name.
    public static let fieldsByName: [String: ArgumentField] = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })

    private static let cpu = "swifttrain trains in float32 on the CPU"
    private static let noDataLoaderWorkers = "swifttrain reads batches in the training process (no worker processes)"
    private static let noHub = "it applies to push_to_hub, which swifttrain does not do"
    private static let noTrackio = "it applies to report_to=\"trackio\", which swifttrain does not have"
    private static let noTorchDDP = "it configures torch's DistributedDataParallel; swifttrain averages gradients over MPI"

    static let hfFields: [ArgumentField] = [
        .own("output_dir", .str, .null, "checkpoints go to output_dir/checkpoint-<step>/ (None: \"trainer_output\")",
             optional: true),
        .own("per_device_train_batch_size", .int, .int(8), "samples per training batch (per process)"),
        .own("num_train_epochs", .float, .double(3), "epochs to train, when max_steps is -1"),
        .own("max_steps", .int, .int(-1), "optimizer steps to train; -1: from num_train_epochs"),
        .own("learning_rate", .float, .double(5e-5), "the initial learning rate"),
        .own("lr_scheduler_type", .str, .string("linear"),
             "HF's schedules except cosine_warmup_with_min_lr and greedy, plus \"step\" and \"exponential\""),
        .own("lr_scheduler_kwargs", .dict, .null, "the schedule's options (num_cycles, power, min_lr, ...)",
             optional: true),
        .own("warmup_steps", .number, .int(0), "warmup steps; below 1 a ratio of the total steps"),
        .own("optim", .str, .string("adamw_torch_fused"),
             "adamw_torch, adamw_torch_fused, sgd, adagrad, rmsprop, lion_32bit (HF's names), adam, adadelta"),
        .own("optim_args", .str, .null, "the optimizer's options as \"key=value,...\"", optional: true),
        .own("weight_decay", .float, .double(0), "decoupled (AdamW) or L2 weight decay; never on biases"),
        .own("adam_beta1", .float, .double(0.9), "AdamW's, Adam's and Lion's beta1"),
        .own("adam_beta2", .float, .double(0.999), "AdamW's, Adam's and Lion's beta2"),
        .own("adam_epsilon", .float, .double(1e-8), "AdamW's and Adam's epsilon"),
        .kept("optim_target_modules", .refused, .list, .null,
              "it selects the modules of GaLore/APOLLO optimizers, which swifttrain does not have; remove it",
              optional: true),
        .own("gradient_accumulation_steps", .int, .int(1), "batches summed into one optimizer step"),
        .kept("average_tokens_across_devices", .noEffect, .bool, .bool(true),
              "swifttrain's losses are means per batch; processes average gradients"),
        .own("max_grad_norm", .float, .double(1), "clips the gradient norm; 0 disables"),
        .own("label_smoothing_factor", .float, .double(0), "label smoothing of the built-in cross-entropy"),
        .kept("bf16", .refused, .bool, .bool(false), "\(cpu); remove it"),
        .kept("fp16", .refused, .bool, .bool(false), "\(cpu); remove it"),
        .kept("bf16_full_eval", .refused, .bool, .bool(false), "\(cpu); remove it"),
        .kept("fp16_full_eval", .refused, .bool, .bool(false), "\(cpu); remove it"),
        .kept("tf32", .noEffect, .bool, .null, "TF32 is an NVIDIA GPU mode; swifttrain computes in float32",
              optional: true),
        .kept("activation_checkpointing", .refused, .bool, .null,
              "swifttrain keeps every activation; lower per_device_train_batch_size or set max_micro_batch_size",
              optional: true),
        .kept("activation_checkpointing_kwargs", .refused, .dict, .null,
              "swifttrain keeps every activation; remove it", optional: true),
        .kept("gradient_checkpointing", .refused, .bool, .null,
              "swifttrain keeps every activation; lower per_device_train_batch_size or set max_micro_batch_size",
              optional: true),
        .kept("gradient_checkpointing_kwargs", .refused, .dict, .null,
              "swifttrain keeps every activation; remove it", optional: true),
        .kept("torch_compile", .noEffect, .bool, .bool(false), "swifttrain's kernels are compiled ahead of time"),
        .kept("torch_compile_backend", .noEffect, .str, .null, "swifttrain's kernels are compiled ahead of time",
              optional: true),
        .kept("torch_compile_mode", .noEffect, .str, .null, "swifttrain's kernels are compiled ahead of time",
              optional: true),
        .kept("use_liger_kernel", .refused, .bool, .bool(false), "Liger kernels are Triton GPU kernels; remove it"),
        .kept("liger_kernel_config", .refused, .dict, .null, "Liger kernels are Triton GPU kernels; remove it",
              optional: true),
        .kept("use_cache", .noEffect, .bool, .bool(false),
              "it sets the key/value cache of HF's generative models, which swifttrain models do not have"),
        .kept("neftune_noise_alpha", .refused, .float, .null,
              "NEFTune (noise on HF models' embeddings) is not implemented; remove it", optional: true),
        .kept("torch_empty_cache_steps", .noEffect, .int, .null, "it empties torch's GPU memory cache",
              optional: true),
        .kept("auto_find_batch_size", .refused, .bool, .bool(false),
              "it retries after CUDA out-of-memory errors; set per_device_train_batch_size (or max_micro_batch_size)"),
        .own("logging_strategy", .str, .string("steps"), "when the log history gets an entry: no, steps, epoch"),
        .own("logging_steps", .number, .int(500), "steps between logs; below 1 a ratio of the total steps"),
        .own("logging_first_step", .bool, .bool(false), "log the first step too"),
        .kept("log_on_each_node", .noEffect, .bool, .bool(true), "swifttrain logs from the first process only"),
        .own("logging_nan_inf_filter", .bool, .bool(true), "a NaN or infinite step loss counts as the average"),
        .kept("include_num_input_tokens_seen", .refused, .str, .string("no"),
              "swifttrain does not count input tokens; remove it"),
        .kept("log_level", .honoured, .str, .string("passive"),
              "the Python logger \"swifttrain\"'s level (passive: left as it is)"),
        .kept("log_level_replica", .noEffect, .str, .string("warning"),
              "processes other than the first log nothing"),
        .kept("disable_tqdm", .honoured, .bool, .null, "no progress bar (None: False)", optional: true),
        .own("report_to", .list, .string("none"),
             "none, tensorboard, or all (every integration swifttrain has: TensorBoard)", optional: true),
        .kept("run_name", .honoured, .str, .null,
              "kept for scripts (HF passes it to wandb and similar integrations, which swifttrain lacks)",
              optional: true),
        .kept("project", .noEffect, .str, .string("huggingface"), noTrackio),
        .kept("trackio_space_id", .noEffect, .str, .null, noTrackio, optional: true),
        .kept("trackio_bucket_id", .noEffect, .str, .null, noTrackio, optional: true),
        .kept("trackio_static_space_id", .noEffect, .str, .null, noTrackio, optional: true),
        .own("eval_strategy", .str, .string("no"), "when to evaluate: no, steps, epoch"),
        .own("eval_steps", .number, .null, "steps between evaluations (None: logging_steps)", optional: true),
        .own("eval_delay", .float, .int(0), "steps (or epochs) before the first evaluation"),
        .own("per_device_eval_batch_size", .int, .int(8), "samples per evaluation batch"),
        .kept("prediction_loss_only", .refused, .bool, .bool(false),
              "swifttrain's evaluation always reports its metrics; remove it (without compute_metrics the built-in "
                + "metrics are the loss and, for classification, accuracy)"),
        .own("eval_on_start", .bool, .bool(false), "evaluate once before training"),
        .kept("eval_do_concat_batches", .noEffect, .bool, .bool(true),
              "swifttrain concatenates the predictions of every batch"),
        .kept("eval_use_gather_object", .noEffect, .bool, .bool(false), "every process evaluates the whole set"),
        .kept("eval_accumulation_steps", .noEffect, .int, .null, "predictions already stay in CPU memory",
              optional: true),
        .kept("include_for_metrics", .refused, .list, .array([]),
              "compute_metrics gets predictions and labels only; remove it"),
        .kept("batch_eval_metrics", .refused, .bool, .bool(false),
              "compute_metrics is called once per evaluation; remove it"),
        .own("save_only_model", .bool, .bool(false), "checkpoints hold the weights and state only"),
        .own("save_strategy", .str, .string("steps"), "when to write checkpoints: no, steps, epoch, best"),
        .own("save_steps", .number, .int(500), "steps between checkpoints; below 1 a ratio of the total steps"),
        .kept("save_on_each_node", .refused, .bool, .bool(false),
              "the first process writes every checkpoint; use a directory every node sees"),
        .own("save_total_limit", .int, .null, "keep this many checkpoints, never deleting the best (None: all)",
             optional: true),
        .kept("enable_jit_checkpoint", .refused, .bool, .bool(false),
              "checkpoints on a termination signal are not implemented; save with save_steps"),
        .kept("push_to_hub", .refused, .bool, .bool(false),
              "swifttrain does not upload; push output_dir with huggingface_hub after training"),
        .kept("hub_token", .noEffect, .str, .null, noHub, optional: true),
        .kept("hub_private_repo", .noEffect, .bool, .null, noHub, optional: true),
        .kept("hub_model_id", .noEffect, .str, .null, noHub, optional: true),
        .kept("hub_strategy", .noEffect, .str, .string("every_save"), noHub),
        .kept("hub_always_push", .noEffect, .bool, .bool(false), noHub),
        .kept("hub_revision", .noEffect, .str, .null, noHub, optional: true),
        .own("load_best_model_at_end", .bool, .bool(false), "put the best evaluated weights back at the end"),
        .own("metric_for_best_model", .str, .null, "the metric that decides the best model (None: loss)",
             optional: true),
        .own("greater_is_better", .bool, .null, "None: false for names ending in loss", optional: true),
        .own("ignore_data_skip", .bool, .bool(false), "a resumed iterable set starts its epoch over"),
        .kept("restore_callback_states_from_checkpoint", .noEffect, .bool, .bool(false),
              "a resume always restores the stateful callbacks' states, as HF does with True"),
        .kept("full_determinism", .noEffect, .bool, .bool(false),
              "it sets torch's deterministic CUDA algorithms; swifttrain has none to set"),
        .own("seed", .int, .int(42), "seeds the data order and, when training starts, dropout"),
        .own("data_seed", .int, .null, "the data order's seed (None: seed)", optional: true),
        .kept("use_cpu", .noEffect, .bool, .bool(false), "swifttrain always trains on the CPU"),
        .kept("accelerator_config", .refused, .dict, .null, "swifttrain does not use accelerate; remove it",
              optional: true),
        .kept("parallelism_config", .refused, .dict, .null,
              "tensor/context parallelism is not implemented; ddp_backend=\"mpi\" trains data-parallel",
              optional: true),
        .own("dataloader_drop_last", .bool, .bool(false), "drop the last incomplete batch"),
        .kept("dataloader_num_workers", .noEffect, .int, .int(0), noDataLoaderWorkers),
        .kept("dataloader_pin_memory", .noEffect, .bool, .bool(true), "pinned memory speeds up copies to a GPU"),
        .kept("dataloader_persistent_workers", .noEffect, .bool, .bool(false), noDataLoaderWorkers),
        .kept("dataloader_prefetch_factor", .noEffect, .int, .null, noDataLoaderWorkers, optional: true),
        .kept("dataloader_multiprocessing_context", .noEffect, .str, .null, noDataLoaderWorkers, optional: true),
        .kept("dataloader_in_order", .noEffect, .bool, .bool(true), "batches always come in order"),
        .kept("remove_unused_columns", .honoured, .bool, .bool(true),
              "the Python Trainer drops dataset columns the model's forward does not take"),
        .own("label_names", .list, .null, "the batch entries that are labels (None: labels)", optional: true),
        .own("train_sampling_strategy", .str, .string("random"),
             "random, or sequential (the training set in order: dataloader_shuffle false); not group_by_length"),
        .kept("length_column_name", .noEffect, .str, .string("length"),
              "it names the lengths of train_sampling_strategy=\"group_by_length\", which swifttrain does not have"),
        .kept("ddp_find_unused_parameters", .noEffect, .bool, .null, noTorchDDP, optional: true),
        .own("ddp_bucket_cap_mb", .int, .null, "gradients up to this many MB (None: 4) are summed in one message after "
             + "the backward pass, larger ones each during it (docs/distributed.md)", optional: true),
        .kept("ddp_broadcast_buffers", .noEffect, .bool, .null, noTorchDDP, optional: true),
        .kept("ddp_static_graph", .noEffect, .bool, .null, noTorchDDP, optional: true),
        .own("ddp_backend", .str, .null, "mpi (or none: alone; None: MPI when mpirun started several processes)",
             optional: true),
        .own("ddp_timeout", .int, .int(1800), "a collective without progress this long ends the job, naming the rank "
             + "(0: never)"),
        .kept("fsdp", .refused, .str, .null,
              "sharded training is not implemented; ddp_backend=\"mpi\" trains data-parallel", optional: true),
        .kept("fsdp_config", .refused, .dict, .null,
              "sharded training is not implemented; ddp_backend=\"mpi\" trains data-parallel", optional: true),
        .kept("deepspeed", .refused, .dict, .null,
              "DeepSpeed is not supported; ddp_backend=\"mpi\" trains data-parallel", optional: true),
        .kept("debug", .refused, .str, .string(""), "HF's debug options are not implemented; remove it"),
        .kept("skip_memory_metrics", .noEffect, .bool, .bool(true), "swifttrain reports no memory metrics"),
        .kept("do_train", .honoured, .bool, .bool(false), "kept for scripts (HF's Trainer does not read it either)"),
        .kept("do_eval", .honoured, .bool, .bool(false), "kept for scripts (HF's Trainer does not read it either)"),
        .kept("do_predict", .honoured, .bool, .bool(false), "kept for scripts (HF's Trainer does not read it either)"),
        .kept("resume_from_checkpoint", .honoured, .str, .null,
              "kept for scripts (HF's Trainer does not read it either; pass it to train())", optional: true),
        .kept("local_rank", .noEffect, .int, .int(-1), "the process's rank comes from the MPI launcher"),
    ]

    /// swifttrain's own arguments (and HF v4's that v5 removed): in swifttrain_args.json, not
    /// training_args.json.
    static let additions: [ArgumentField] = [
        .own("max_micro_batch_size", .int, .int(0), "split larger batches into micro-batches (same update)", hf: false),
        .own("sgd_momentum", .float, .double(0), "SGD's and RMSprop's momentum", hf: false),
        .own("max_grad_value", .float, .double(0), "clamp every gradient element to [-v, v]; 0 disables", hf: false),
        .own("nonfinite_grad_norm", .str, .string("error"), "error or skip on a NaN/infinite gradient norm", hf: false),
        .own("warmup_ratio", .float, .double(0), "HF v4's warmup as a ratio of the total steps", hf: false),
        .own("ema_decay", .float, .double(0), "a moving average of the weights for evaluation; 0 disables", hf: false),
        .own("momentum_scheduler_type", .str, .string("none"), "none or inverted_triangular (AllenNLP's)", hf: false),
        .own("momentum_scheduler_kwargs", .dict, .null, "the momentum schedule's options", optional: true, hf: false),
        .own("early_stopping_patience", .int, .int(0), "stop after this many evaluations without improvement",
             hf: false),
        .own("early_stopping_threshold", .float, .double(0), "the least improvement that counts", hf: false),
        .own("dataloader_shuffle", .bool, .bool(true), "false: the training set in order every epoch", hf: false),
        .own("logging_dir", .str, .null, "HF v4's TensorBoard directory (None: output_dir/runs/<date>_<host>)",
             optional: true, hf: false),
    ]

    /// Other names `set` takes for a field: AllenNLP's and HF v4's.
    public static let fieldAliases = ["evaluation_strategy": "eval_strategy", "patience": "early_stopping_patience",
                                      "validation_metric": "metric_for_best_model"]
}
