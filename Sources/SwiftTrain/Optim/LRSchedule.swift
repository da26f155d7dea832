/// Learning-rate schedules as pure functions of the optimizer step, so a run resumed at step
/// k gets exactly the learning rate the uninterrupted run had. Formulas of HF's
/// `get_scheduler`.
public enum LRSchedule: Sendable, Equatable {
    /// Linear warmup from 0, then linear decay to 0 at `totalSteps` (HF "linear").
    case linear(warmupSteps: Int, totalSteps: Int)
    /// Linear warmup from 0, then constant (HF "constant_with_warmup"; "constant" when
    /// warmupSteps is 0).
    case constant(warmupSteps: Int)

    /// The factor applied to the base learning rate at optimizer step `step` (0-based).
    public func factor(at step: Int) -> Double {
        switch self {
        case let .linear(warmup, total):
            if step < warmup { return Double(step) / Double(max(1, warmup)) }
            return max(0, Double(total - step) / Double(max(1, total - warmup)))
        case let .constant(warmup):
            if step < warmup { return Double(step) / Double(max(1, warmup)) }
            return 1
        }
    }
}
