import Glibc

/// Learning-rate schedules as pure functions of the optimizer step, so a run resumed at step
/// k gets exactly the learning rate the uninterrupted run had. Names, arguments and formulas
/// are HF's `get_scheduler` (transformers/optimization.py) and PyTorch's StepLR and
/// ExponentialLR. The factor multiplies each parameter group's initial learning rate.
public enum LRSchedule: Sendable, Equatable {
    /// Warmup, then linear decay to 0 at `total` (HF "linear").
    case linear(warmup: Int, total: Int)
    /// Warmup, then cosine decay over `cycles` (0.5: to 0 at `total`) (HF "cosine").
    case cosine(warmup: Int, total: Int, cycles: Double)
    /// Warmup, then `cycles` cosine decays with hard restarts (HF "cosine_with_restarts").
    case cosineWithRestarts(warmup: Int, total: Int, cycles: Double)
    /// Warmup, then polynomial decay from the initial lr to `lrEnd` (HF "polynomial").
    case polynomial(warmup: Int, total: Int, lrEnd: Double, power: Double, lrInit: Double)
    /// Warmup, then constant (HF "constant_with_warmup"; "constant" with warmup 0).
    case constant(warmup: Int)
    /// Warmup, then 1/sqrt decay with `timescale` (HF "inverse_sqrt").
    case inverseSqrt(warmup: Int, timescale: Int)
    /// Cosine decay to `minLRRate` times the initial lr (HF "cosine_with_min_lr").
    case cosineWithMinLR(warmup: Int, total: Int, cycles: Double, minLRRate: Double)
    /// Warmup, stable, decay phases (HF "warmup_stable_decay").
    case warmupStableDecay(warmup: Int, stable: Int, decay: Int, warmupType: WSDShape, decayType: WSDShape,
                           minLRRatio: Double, cycles: Double)
    /// gamma^(step / stepSize) (torch.optim.lr_scheduler.StepLR; gamma's default is the
    /// table's, `LayerDefaults.stepLR`).
    case step(stepSize: Int, gamma: Double = LayerDefaults.stepLR.gamma)
    /// gamma^step (torch.optim.lr_scheduler.ExponentialLR).
    case exponential(gamma: Double)

    public enum WSDShape: String, Sendable, CaseIterable { case linear, cosine, oneMinusSqrt = "1-sqrt" }

    /// The factor for optimizer step `step` (0-based: the lr the step uses).
    public func factor(at step: Int) -> Double {
        let s = Double(step)
        func warmupFactor(_ w: Int) -> Double { s / Double(Swift.max(1, w)) }
        switch self {
        case let .linear(w, total):
            if step < w { return warmupFactor(w) }
            return Swift.max(0, Double(total - step) / Double(Swift.max(1, total - w)))
        case let .cosine(w, total, cycles):
            if step < w { return warmupFactor(w) }
            let progress = Double(step - w) / Double(Swift.max(1, total - w))
            return Swift.max(0, 0.5 * (1 + Glibc.cos(Double.pi * cycles * 2 * progress)))
        case let .cosineWithRestarts(w, total, cycles):
            if step < w { return warmupFactor(w) }
            let progress = Double(step - w) / Double(Swift.max(1, total - w))
            if progress >= 1 { return 0 }
            return Swift.max(0, 0.5 * (1 + Glibc.cos(Double.pi * (cycles * progress).truncatingRemainder(dividingBy: 1))))
        case let .polynomial(w, total, lrEnd, power, lrInit):
            if step < w { return warmupFactor(w) }
            if step > total { return lrEnd / lrInit }
            let remaining = 1 - Double(step - w) / Double(total - w)
            return ((lrInit - lrEnd) * Glibc.pow(remaining, power) + lrEnd) / lrInit
        case let .constant(w):
            return step < w ? warmupFactor(w) : 1
        case let .inverseSqrt(w, timescale):
            if step < w { return warmupFactor(w) }
            return 1 / ((s + Double(timescale - w)) / Double(timescale)).squareRoot()
        case let .cosineWithMinLR(w, total, cycles, rate):
            if step < w { return warmupFactor(w) }
            let progress = Double(step - w) / Double(Swift.max(1, total - w))
            let f = 0.5 * (1 + Glibc.cos(Double.pi * cycles * 2 * progress))
            return Swift.max(0, f * (1 - rate) + rate)
        case let .warmupStableDecay(w, stable, decay, warmupType, decayType, minRatio, cycles):
            if step < w {
                let p = warmupFactor(w)
                let f: Double = switch warmupType {
                case .linear: p
                case .cosine: 0.5 * (1 - Glibc.cos(Double.pi * p))
                case .oneMinusSqrt: 1 - (1 - p).squareRoot()
                }
                return Swift.max(0, f * (1 - minRatio) + minRatio)
            }
            if step < w + stable { return 1 }
            if step < w + stable + decay {
                let p = Double(step - w - stable) / Double(Swift.max(1, decay))
                let f: Double = switch decayType {
                case .linear: 1 - p
                case .cosine: 0.5 * (1 + Glibc.cos(Double.pi * cycles * 2 * p))
                case .oneMinusSqrt: 1 - p.squareRoot()
                }
                return Swift.max(0, f * (1 - minRatio) + minRatio)
            }
            return minRatio
        case let .step(size, gamma):
            return Glibc.pow(gamma, Double(step / Swift.max(size, 1)))
        case let .exponential(gamma):
            return Glibc.pow(gamma, s)
        }
    }
}

/// torch.optim.lr_scheduler.ReduceLROnPlateau: multiplies the learning rates by `factor`
/// when the metric has not improved for `patience` evaluations (HF
/// "reduce_lr_on_plateau", driven by the evaluation metric).
public struct ReduceLROnPlateau: Sendable, Equatable {
    public enum Mode: String, Sendable { case min, max }
    public enum ThresholdMode: String, Sendable { case rel, abs }
    // PyTorch's defaults, from the one table (LayerDefaults.reduceLROnPlateau)
    public var mode: Mode = LayerDefaults.reduceLROnPlateau.modeMax ? .max : .min
    public var factor = LayerDefaults.reduceLROnPlateau.factor, patience = LayerDefaults.reduceLROnPlateau.patience
    public var threshold = LayerDefaults.reduceLROnPlateau.threshold
    public var thresholdMode: ThresholdMode = LayerDefaults.reduceLROnPlateau.thresholdModeAbs ? .abs : .rel
    public var cooldown = LayerDefaults.reduceLROnPlateau.cooldown, minLR = LayerDefaults.reduceLROnPlateau.minLr
    public var eps = LayerDefaults.reduceLROnPlateau.eps
    public private(set) var best: Double? = nil
    public private(set) var badEpochs = 0
    public private(set) var cooldownCounter = 0

    public init() {}

    public func validate() throws {
        guard factor < 1, factor >= 0 else { throw SwiftTrainError.invalid("reduce_lr_on_plateau: factor must be in [0, 1), got \(factor)") }
        guard patience >= 0 else { throw SwiftTrainError.invalid("reduce_lr_on_plateau: patience must be >= 0, got \(patience)") }
        guard cooldown >= 0, minLR >= 0, threshold >= 0 else {
            throw SwiftTrainError.invalid("reduce_lr_on_plateau: cooldown, min_lr and threshold must be >= 0")
        }
    }

    private func isBetter(_ a: Double, than best: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): a < best * (1 - threshold)
        case (.min, .abs): a < best - threshold
        case (.max, .rel): a > best * (1 + threshold)
        case (.max, .abs): a > best + threshold
        }
    }

    /// Restores the counters saved from another plateau (PyTorch's best, num_bad_epochs,
    /// cooldown_counter; `best` nil before the first metric).
    public mutating func restore(best: Double?, badEpochs: Int, cooldownCounter: Int) throws {
        guard (0...Int(Int32.max)).contains(badEpochs), (0...Int(Int32.max)).contains(cooldownCounter) else {
            throw SwiftTrainError.invalid("reduce_lr_on_plateau: num_bad_epochs (\(badEpochs)) and cooldown_counter "
                + "(\(cooldownCounter)) must be >= 0")
        }
        guard best.map({ !$0.isNaN }) ?? true else {
            throw SwiftTrainError.invalid("reduce_lr_on_plateau: best is NaN; use none before the first metric")
        }
        self.best = best
        self.badEpochs = badEpochs
        self.cooldownCounter = cooldownCounter
    }

    /// Feeds one evaluation's metric; returns the new learning rates for `rates`.
    public mutating func step(metric: Double, rates: [Double]) -> [Double] {
        // torch: best starts at mode_worse (+inf for min, -inf for max); NaN is never better
        if isBetter(metric, than: best ?? (mode == .min ? .infinity : -.infinity)) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return rates }
        cooldownCounter = cooldown
        badEpochs = 0
        return rates.map { old in
            let new = Swift.max(old * factor, minLR)
            return old - new > eps ? new : old
        }
    }
}
