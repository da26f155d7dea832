/// What a callback of a config does (`"callbacks": [{"type": "early_stopping", ...}, ...]`): the
/// training arguments it sets, by their HF names (the core's built-in rules, such as early
/// stopping and TensorBoard, are arguments), and what it adds to the trainer.
public struct ConfigCallback {
    public var arguments: [(name: String, value: String)]
    /// Registers the callback on the experiment's trainer (nil: arguments only).
    public var install: ((Trainer) throws -> Void)?

    public init(arguments: [(name: String, value: String)] = [], install: ((Trainer) throws -> Void)? = nil) {
        self.arguments = arguments
        self.install = install
    }
}

/// The built-in callbacks of configs, from the core's (docs/events.md):
/// - "early_stopping": HF's EarlyStoppingCallback, "early_stopping_patience" (default 1) and
///   "early_stopping_threshold" (default 0), with the trainer's metric_for_best_model;
/// - "metrics_logger": "path" (relative to the output directory; default "metrics.jsonl") and
///   "format" ("jsonl" or "csv"; default from the path's extension), opened at the first log;
///   a resumed run (--recover) keeps the entries up to its checkpoint's step and appends;
/// - "progress_bar": the core's bar on stderr;
/// - "terminate_on_nan": Keras' TerminateOnNaN;
/// - "tensorboard": report_to tensorboard, "log_dir" (default HF's output_dir/runs/...).
enum BuiltInConfigCallbacks {
    static let all: [(String, ConfigRegistry.CallbackBuilder, [String])] = [
        ("early_stopping", { o in
            let patience = try o.int("early_stopping_patience", 1), threshold = try o.double("early_stopping_threshold", 0)
            return ConfigCallback(arguments: [("early_stopping_patience", String(patience)),
                                              ("early_stopping_threshold", JSONValue.double(threshold).serialized())])
        }, ["early_stopping_patience", "early_stopping_threshold"]),
        ("metrics_logger", { o in
            let path = try o.string("path", "metrics.jsonl")
            let name = try o.string("format", path.hasSuffix(".csv") ? "csv" : "jsonl")
            guard let format = MetricsLogger.Format.names.first(where: { $0.0 == name })?.1 else {
                throw ConfigObject.error(o.path("format"), "expected \"jsonl\" or \"csv\", got \"\(name)\"")
            }
            guard !path.isEmpty else { throw ConfigObject.error(o.path("path"), "is empty") }
            return ConfigCallback { trainer in
                var logger: MetricsLogger?, resumedAt: Int?
                let events = MetricsLogger.events.union(EventMask(.trainBegin))
                trainer.addCallback(events, priority: MetricsLogger.priority) { [unowned trainer] event, state, control, metrics in
                    if event == .trainBegin {  // a resumed run (--recover) continues the file past its step
                        if logger == nil, state.globalStep > 0 { resumedAt = state.globalStep }
                        return
                    }
                    if logger == nil {  // at the first log, with its directory
                        let file = path.hasPrefix("/") ? path : Files.join(trainer.args.outputDir, path)
                        if let slash = file.lastIndex(of: "/"), slash != file.startIndex {
                            try Files.makeDirectories(String(file[..<slash]))
                        }
                        logger = try MetricsLogger(path: file, format: format, resumingAt: resumedAt)
                    }
                    try logger!.callback(event, state, &control, metrics)
                }
            }
        }, ["path", "format"]),
        ("progress_bar", { _ in
            ConfigCallback { trainer in
                let bar = try ProgressBar(fd: 2)
                trainer.addCallback(ProgressBar.events, priority: ProgressBar.priority, bar.callback)
            }
        }, []),
        ("terminate_on_nan", { _ in
            ConfigCallback { trainer in trainer.addCallback(TerminateOnNaN.events, TerminateOnNaN.callback) }
        }, []),
        ("tensorboard", { o in
            var arguments: [(name: String, value: String)] = [("report_to", "tensorboard")]
            if let dir = try o.value("log_dir").map({ _ in try o.string("log_dir") }) { arguments.append(("logging_dir", dir)) }
            return ConfigCallback(arguments: arguments)
        }, ["log_dir"]),
    ]
}
