// AllenNLP's result of a training run, read from the state.
extension TrainerState {
    /// AllenNLP's `Trainer.train()` result (GradientDescentTrainer's metrics, its
    /// metrics.json), from this state's log history:
    /// - "epoch": the last epoch trained (from 0), "training_duration" as Python's
    ///   `str(timedelta)` ("0:01:02.500000") of the run's train_runtime;
    /// - "training_loss": the mean of the losses logged during the last epoch;
    /// - "validation_<metric>": the last evaluation's metrics ("eval_" becomes "validation_");
    /// - "best_epoch" and "best_validation_<metric>": the evaluation at `bestGlobalStep`
    ///   (metric_for_best_model; the lowest eval_loss when no best was tracked).
    /// Keys sorted, two-space indent. Runtime and throughput entries of the evaluations are
    /// left out, as AllenNLP reports none.
    public func allenNLPMetrics() -> JSONValue {
        func index(_ epoch: Double) -> Int { Swift.max(Int(epoch.rounded(.up)) - 1, 0) }
        var fields: [(String, JSONValue)] = [("epoch", .int(index(epoch)))]
        if let runtime = logHistory.last(where: { $0["train_runtime"] != nil })?["train_runtime"] {
            fields.append(("training_duration", .string(Self.timedelta(runtime))))
        }
        let last = index(epoch)
        let losses = logHistory.filter { $0["loss"] != nil && index($0["epoch"] ?? 0) == last }.map { $0["loss"]! }
        if !losses.isEmpty { fields.append(("training_loss", .double(losses.reduce(0, +) / Double(losses.count)))) }
        let evaluations = logHistory.filter { $0["eval_loss"] != nil || $0.contains { $0.name.hasPrefix("eval_") && $0.name.hasSuffix("_loss") } }
        func validation(_ entry: Metrics, _ prefix: String) -> [(String, JSONValue)] {
            entry.compactMap { name, value in
                guard name.hasPrefix("eval_"), !name.hasSuffix("_runtime"), !name.hasSuffix("_per_second") else { return nil }
                return (prefix + name.dropFirst("eval_".count), .double(value))
            }
        }
        if let latest = evaluations.last { fields += validation(latest, "validation_") }
        let best = bestGlobalStep.flatMap { step in evaluations.last { $0["step"] == Double(step) } }
            ?? evaluations.filter { $0["eval_loss"] != nil }.min { $0["eval_loss"]! < $1["eval_loss"]! }
        if let best {
            fields.append(("best_epoch", .int(index(best["epoch"] ?? 0))))
            fields += validation(best, "best_validation_")
        }
        return .object(fields)
    }

    /// Python's str(datetime.timedelta(seconds=s)): "H:MM:SS" or "H:MM:SS.ffffff" (days
    /// before ", " when there are any).
    static func timedelta(_ seconds: Double) -> String {
        let micros = Int((Swift.max(seconds, 0) * 1e6).rounded())
        let days = micros / 86_400_000_000, rest = micros % 86_400_000_000
        let h = rest / 3_600_000_000, m = rest / 60_000_000 % 60, s = rest / 1_000_000 % 60, us = rest % 1_000_000
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = "\(h):\(two(m)):\(two(s))"
        if us > 0 { text += "." + String(String(us + 1_000_000).dropFirst()) }
        return days > 0 ? "\(days) day\(days == 1 ? "" : "s"), " + text : text
    }
}
