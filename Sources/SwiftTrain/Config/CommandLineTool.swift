import PlatformShims

/// The `swifttrain` command line, one implementation for every face (the C library exports it
/// as `st_cli_main`; the installed `swifttrain` program and Python's console script call it):
///
///     swifttrain train CONFIG -s DIR [--recover] [-o OVERRIDES]
///     swifttrain describe CONFIG [-o OVERRIDES]
///
/// Exit codes follow sysexits: 0 done, 64 bad usage, 65 a bad config (the message names the
/// key path), 66 a file that cannot be read, 70 training failed, 73 a directory that cannot be
/// used, 74 an I/O error, 130 stopped by Ctrl-C (after saving the step: continue with
/// --recover).
public enum CommandLineTool {
    public static let usage = """
        usage: swifttrain <command> [options]

        commands:
          train CONFIG -s DIR [--recover] [-o OVERRIDES]
              Trains the experiment CONFIG describes (JSON; see docs/configs.md) and writes
              DIR/config.json (the config with every default), checkpoints, DIR/model.safetensors
              and DIR/metrics.json (AllenNLP's result). DIR must be new or empty unless
              --recover, which continues the run saved there from its last checkpoint.
              -o takes a JSON object merged into the config ('{"trainer": {"max_steps": 10}}').
              Shows a progress bar on stderr unless the config's trainer sets "disable_tqdm": true.
          describe CONFIG [-o OVERRIDES]
              Prints the config with every default, the model and its parameter count.
          evaluate DIR DATA [--output-file FILE]
              Evaluates the model a finished `train` left in DIR on DATA and prints the metrics
              as JSON. DATA is a CSV file read as the run's train_data was (same columns,
              scale and shape), or a data config ('{"type": "csv", "path": ...}').
          predict DIR DATA -o FILE
              Writes the model's outputs for every row of DATA to FILE (CSV: output_0, ...,
              and the predicted class for a classifier).

        Run 'swifttrain <command> --help' for one command.
        """

    public enum Exit: Int32 {
        case ok = 0, usage = 64, dataError = 65, noInput = 66, software = 70, cantCreate = 73, io = 74
        /// Stopped by Ctrl-C after saving (128 + SIGINT, as a shell reports it).
        case interrupted = 130
    }

    /// Runs `arguments` (without the program name); `out` and `err` receive whole lines.
    /// `progress`: the file descriptor `train` draws its progress bar on (the program's stderr;
    /// nil: none), unless the config's trainer sets disable_tqdm.
    public static func run(_ arguments: [String], out: @escaping (String) -> Void, err: @escaping (String) -> Void,
                           progress: Int32? = nil) -> Int32 {
        guard let command = arguments.first else {
            err(usage)
            return Exit.usage.rawValue
        }
        if command == "--help" || command == "-h" || command == "help" {
            out(usage)
            return Exit.ok.rawValue
        }
        let rest = Array(arguments.dropFirst())
        if let use = commandUsage[command], rest.contains("--help") || rest.contains("-h") {
            out("usage: swifttrain \(command) \(use)")
            return Exit.ok.rawValue
        }
        do {
            switch command {
            case "train": return try train(rest, out: out, err: err, progress: progress).rawValue
            case "describe": return try describe(rest, out: out, err: err).rawValue
            case "evaluate": return try evaluate(rest, out: out).rawValue
            case "predict": return try predict(rest, out: out).rawValue
            default:
                err("swifttrain: unknown command '\(command)'; the commands are train, describe, evaluate and predict\n\n" + usage)
                return Exit.usage.rawValue
            }
        } catch let error as DirectoryError {
            err("swifttrain \(command): \(error.message)")
            return Exit.cantCreate.rawValue
        } catch let error as UsageError {
            err("swifttrain \(command): \(error.message)\n\n" + usage)
            return Exit.usage.rawValue
        } catch let error as SwiftTrainError {
            err("swifttrain \(command): \(error.message)")
            switch error.code {
            case .invalidArgument, .shapeMismatch: return (error.message.hasPrefix("config") || error.message.hasPrefix("overrides")
                                                   ? Exit.dataError : Exit.software).rawValue
            case .io: return Exit.io.rawValue
            case .notFound: return Exit.noInput.rawValue
            default: return Exit.software.rawValue
            }
        } catch {
            err("swifttrain \(command): \(error)")
            return Exit.software.rawValue
        }
    }

    /// Each command's arguments, for `<command> --help`.
    static let commandUsage = [
        "train": "CONFIG -s DIR [--recover] [-o OVERRIDES]", "describe": "CONFIG [-o OVERRIDES]",
        "evaluate": "DIR DATA [--output-file FILE]", "predict": "DIR DATA -o FILE",
    ]

    struct UsageError: Error { let message: String }
    struct DirectoryError: Error { let message: String }

    /// The parsed options of a command: positional arguments and the flags it knows.
    private struct Options {
        var positional: [String] = []
        var values: [String: String] = [:]
        var flags: Set<String> = []

        init(_ arguments: [String], values known: [String: String], flags knownFlags: Set<String>) throws {
            var i = 0
            while i < arguments.count {
                let a = arguments[i]
                if let name = known[a] {
                    guard i + 1 < arguments.count else { throw UsageError(message: "\(a) needs a value") }
                    values[name] = arguments[i + 1]
                    i += 2
                    continue
                }
                if knownFlags.contains(a) { flags.insert(a) } else if a.hasPrefix("-") {
                    throw UsageError(message: "unknown option '\(a)'")
                } else {
                    positional.append(a)
                }
                i += 1
            }
        }
    }

    private static func readConfig(_ path: String) throws -> String {
        do { return String(decoding: try Files.read(path), as: UTF8.self) } catch let error as SwiftTrainError {
            throw SwiftTrainError(.notFound, "cannot read the config '\(path)': \(error.message)")
        }
    }

    static func train(_ arguments: [String], out: @escaping (String) -> Void, err: @escaping (String) -> Void,
                      progress: Int32? = nil) throws -> Exit {
        let options = try Options(arguments, values: ["-s": "dir", "--serialization-dir": "dir", "-o": "overrides",
                                                      "--overrides": "overrides"], flags: ["--recover", "-r"])
        guard options.positional.count == 1 else { throw UsageError(message: "train takes one CONFIG file") }
        guard let dir = options.values["dir"] else { throw UsageError(message: "train needs -s DIR, the serialization directory") }
        let recover = options.flags.contains("--recover") || options.flags.contains("-r")
        let text = try readConfig(options.positional[0])
        // Under mpirun (data-parallel training) process 0 owns the directory: the others
        // neither check nor write it.
        let first = ProcessGroup.launcherRank == 0
        if first && Files.isDirectory(dir) {
            let existing = try Files.list(dir)
            if !existing.isEmpty && !recover {
                throw DirectoryError(message: "the serialization directory '\(dir)' already exists and is not empty; "
                    + "use --recover to continue the run saved there, or another directory")
            }
        } else if first && recover {
            throw SwiftTrainError(.notFound, "--recover: '\(dir)' does not exist; there is no run to continue")
        }
        let experiment = try Experiment(text: text, overrides: options.values["overrides"], outputDir: dir)
        if first {
            try Files.makeDirectories(dir)
            try Files.writeAtomically(Array((experiment.resolvedConfig.serialized() + "\n").utf8), to: Files.join(dir, "config.json"))
        }
        let trainer = experiment.trainer
        // Ctrl-C: the step ends, is saved (as the trainer's request_stop does), and the run can
        // be continued with --recover; a second Ctrl-C ends the process at once
        stx_interrupt_install()
        defer { stx_interrupt_restore() }
        var stoppedByInterrupt = false
        trainer.addCallback([EventMask(.stepEnd), EventMask(.epochEnd)]) { [unowned trainer] _, _, _, _ in
            if stx_interrupted() != 0 && !stoppedByInterrupt {
                stoppedByInterrupt = true
                trainer.requestStop(save: true)
            }
        }
        let bar = try progress.flatMap { experiment.disableTqdm || experiment.hasProgressBar ? nil : try ProgressBar(fd: $0) }
        if let bar { trainer.addCallback(ProgressBar.events, priority: ProgressBar.priority, bar.callback) }
        trainer.addCallback(EventMask(.log)) { _, state, _, metrics in
            guard let metrics, state.isWorldProcessZero else { return }
            let line = "step \(state.globalStep): " + metrics.filter { $0.name != "step" }.map { "\($0.name)=\(format($0.value))" }
                .joined(separator: " ")
            if let bar { bar.printAbove { out(line) } } else { out(line) }
        }
        let metrics: Metrics
        do { metrics = try trainer.train(resumeFrom: recover ? .latest : nil) } catch var error as SwiftTrainError {
            if error.code == .invalidArgument || error.code == .shapeMismatch { error.message = "training failed: " + error.message }
            throw error
        }
        if stoppedByInterrupt {
            if trainer.state.isWorldProcessZero {
                out("interrupted at step \(trainer.state.globalStep); continue with: swifttrain train "
                    + "\(options.positional[0]) -s \(dir) --recover")
            }
            return .interrupted
        }
        try trainer.saveModel(dir)
        guard trainer.state.isWorldProcessZero else { return .ok }
        let result = trainer.state.allenNLPMetrics()
        try Files.writeAtomically(Array((result.serialized() + "\n").utf8), to: Files.join(dir, "metrics.json"))
        var summary = "trained \(trainer.state.globalStep) steps in \(format(metrics["train_runtime"] ?? 0)) s"
        if let loss = metrics["train_loss"] { summary += ", train_loss \(format(loss))" }
        if let best = result.objectValue?.first(where: { $0.0 == "best_validation_loss" })?.1.doubleValue {
            summary += ", best validation_loss \(format(best))"
        }
        out(summary + "; wrote \(Files.join(dir, "model.safetensors")) and \(Files.join(dir, "metrics.json"))")
        return .ok
    }

    static func describe(_ arguments: [String], out: @escaping (String) -> Void, err: @escaping (String) -> Void) throws -> Exit {
        let options = try Options(arguments, values: ["-o": "overrides", "--overrides": "overrides"], flags: [])
        guard options.positional.count == 1 else { throw UsageError(message: "describe takes one CONFIG file") }
        let experiment = try Experiment(text: try readConfig(options.positional[0]), overrides: options.values["overrides"])
        out(experiment.resolvedConfig.serialized())
        out("model:\n\(experiment.model.description)")
        out("parameters: \(experiment.model.parameterCount)")
        return .ok
    }

    /// The experiment of a finished run in `dir` (its config.json) with the weights it saved.
    static func finishedRun(_ dir: String) throws -> Experiment {
        let config = Files.join(dir, "config.json"), weights = Files.join(dir, "model.safetensors")
        guard Files.exists(config), Files.exists(weights) else {
            throw SwiftTrainError(.notFound, "'\(dir)' is not a finished run: it needs config.json and model.safetensors, "
                + "which swifttrain train writes")
        }
        let experiment = try Experiment(text: try readConfig(config), outputDir: dir, callbacks: false)
        try experiment.model.loadSafetensors(weights)
        return experiment
    }

    /// DATA: a data config (JSON text), or a CSV path read as the run's train_data.
    static func dataset(_ spec: String, like experiment: Experiment) throws -> DataSource {
        if spec.hasPrefix("{") {
            let value: JSONValue
            do { value = try JSONValue.parse(spec) } catch let error as SwiftTrainError {
                throw SwiftTrainError.invalid("config: DATA: not valid JSON: \(error.message)")
            }
            return try ConfigRegistry.data(value, path: "DATA")
        }
        let train = experiment.config.objectValue?.first { $0.0 == "train_data" }?.1 ?? .object([])
        guard train.objectValue?.first(where: { $0.0 == "type" })?.1.stringValue == "csv" else {
            throw SwiftTrainError.invalid("config: DATA: the run's train_data is not a CSV; give a data config ('{\"type\": ...}')")
        }
        guard Files.exists(spec) else { throw SwiftTrainError(.notFound, "cannot read the data '\(spec)'") }
        return try ConfigRegistry.data(Experiment.merge(train, .object([("path", .string(spec))])), path: "DATA")
    }

    static func evaluate(_ arguments: [String], out: @escaping (String) -> Void) throws -> Exit {
        let options = try Options(arguments, values: ["--output-file": "file"], flags: [])
        guard options.positional.count == 2 else { throw UsageError(message: "evaluate takes DIR and DATA") }
        let experiment = try finishedRun(options.positional[0])
        let metrics = try experiment.trainer.evaluate(try dataset(options.positional[1], like: experiment))
        let text = JSONValue.object(metrics.map { ($0.name, .double($0.value)) }).serialized()
        if let file = options.values["file"] { try Files.writeAtomically(Array((text + "\n").utf8), to: file) }
        out(text)
        return .ok
    }

    static func predict(_ arguments: [String], out: @escaping (String) -> Void) throws -> Exit {
        let options = try Options(arguments, values: ["-o": "file", "--output-file": "file"], flags: [])
        guard options.positional.count == 2 else { throw UsageError(message: "predict takes DIR and DATA") }
        guard let file = options.values["file"] else { throw UsageError(message: "predict needs -o FILE") }
        let experiment = try finishedRun(options.positional[0])
        let (prediction, _) = try experiment.trainer.predictionOutput(try dataset(options.positional[1], like: experiment))
        let width = prediction.numOutputs
        let classifier = [LossKind.crossEntropy, .nll].contains(experiment.trainer.loss) && prediction.predictionShape.count == 2
        var text = (0..<width).map { "output_\($0)" }.joined(separator: ",") + (classifier ? ",prediction" : "") + "\n"
        for row in 0..<prediction.numSamples {
            let values = prediction.predictions[(row * width)..<((row + 1) * width)]
            text += values.map { "\($0)" }.joined(separator: ",")
            if classifier { text += ",\(values.indices.max { values[$0] < values[$1] }! - row * width)" }
            text += "\n"
        }
        try Files.writeAtomically(Array(text.utf8), to: file)
        out("wrote \(prediction.numSamples) predictions to \(file)")
        return .ok
    }

    private static func format(_ d: Double) -> String {
        let magnitude = Swift.abs(d)
        if (d == d.rounded() || magnitude >= 1000) && magnitude < 1e15 { return String(Int(d.rounded())) }
        // 4 significant digits, as HF's progress lines
        var scale = 1.0, digits = 0
        while magnitude * scale < 1000 && digits < 12 { scale *= 10; digits += 1 }
        return String((d * scale).rounded() / scale)
    }
}
