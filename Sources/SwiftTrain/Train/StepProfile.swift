/// Where the planned training step's time goes, for `bench/` (swifttrain-bench PHASES): the
/// seconds spent gathering batches, in forward passes, in the loss and in backward passes,
/// summed over the steps since it was attached (`Trainer.stepProfile`), and when the last
/// backward pass ended. Only the planned step records it (the general path's phases are
/// timed by its events); reading the clock costs about 20 ns a phase, and nothing when no
/// profile is attached.
@_spi(Profiling)
public final class StepProfile {
    public internal(set) var data = 0.0, forward = 0.0, loss = 0.0, backward = 0.0
    /// The steps recorded.
    public internal(set) var steps = 0
    /// monotonicSeconds() when the last planned backward pass ended.
    public internal(set) var lastBackwardEnd = 0.0
    public init() {}

    /// The clock the profile uses (CLOCK_MONOTONIC seconds).
    public static func now() -> Double { monotonicSeconds() }
}
