import PlatformShims
import Synchronization
import Glibc

/// The processes that train one model together, data parallel, over MPI (Open MPI, loaded
/// at run time: PlatformShims/mpi_loader.c): every process holds the whole model, trains on
/// its shard of each batch, and the gradients are summed across processes before every
/// update, so every process takes the same step. One group per process (MPI's world).
public final class ProcessGroup: Sendable {
    /// This process's index (MPI rank), from 0.
    public let rank: Int
    /// The number of processes (MPI world size).
    public let size: Int

    /// This process's rank as the MPI launcher set it in the environment (0 when none did),
    /// known before MPI is loaded.
    public static var launcherRank: Int { environment(["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"]) ?? 0 }

    /// This process's rank and the number of processes, as the launcher's environment tells
    /// them for `ddp_backend` (nil when the process will train alone); read before MPI is loaded.
    static func launcherWorld(backend: String) -> (rank: Int, size: Int)? {
        let sizes = backend == "mpi" ? ["OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"] : ["OMPI_COMM_WORLD_SIZE"]
        guard backend != "none", let size = environment(sizes), size > 1 else { return nil }
        return (launcherRank, size)
    }

    /// This process's index among those on its machine, from the launcher's environment.
    static var launcherLocalRank: Int { environment(["OMPI_COMM_WORLD_LOCAL_RANK"]) ?? launcherRank }

    /// This process's index among those on its machine (Open MPI's local rank).
    public let localRank: Int

    /// Whether gradient sums started during the backward pass overlap it (a communication
    /// thread runs them: MPI's thread level is MPI_THREAD_SERIALIZED or more).
    public let overlaps: Bool

    /// A collective that makes no progress for `seconds` (0: never) ends the job, naming this
    /// rank and the collective (HF's ddp_timeout).
    func setTimeout(_ seconds: Double) { stx_mpi_set_timeout(seconds) }

    private init(rank: Int, size: Int, overlaps: Bool) {
        self.rank = rank
        self.size = size
        self.overlaps = overlaps
        localRank = Self.environment(["OMPI_COMM_WORLD_LOCAL_RANK"]) ?? rank
    }

    /// The first of these environment variables that holds an integer.
    private static func environment(_ names: [String]) -> Int? {
        names.lazy.compactMap { getenv($0).flatMap { Int(String(cString: $0)) } }.first
    }

    /// The group `ddp_backend` asks for: nil to train alone ("none"; or "" when no MPI
    /// launcher started several processes); MPI's world otherwise ("mpi", or "" under
    /// `mpirun -np N` with N > 1). A world of one process trains alone.
    static func resolve(backend: String) throws -> ProcessGroup? {
        switch backend {
        case "none": return nil
        case "mpi": break
        default: guard stx_mpi_launched() != 0 else { return nil }
        }
        if let world = world.withLock({ $0 }) { return world.size > 1 ? world : nil }
        var rank: Int32 = 0, size: Int32 = 0
        guard stx_mpi_init(&rank, &size) == 0 else {
            throw SwiftTrainError(.failure, "ddp_backend \"mpi\": " + String(cString: stx_mpi_error()))
        }
        let group = ProcessGroup(rank: Int(rank), size: Int(size), overlaps: stx_mpi_overlaps() != 0)
        world.withLock { $0 = group }
        return group.size > 1 ? group : nil
    }

    private static let world = Mutex<ProcessGroup?>(nil)

    /// Sums `count` floats at `values` across the processes, in place.
    func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        try check(stx_mpi_allreduce_sum_float(values, count), "summing gradients")
    }

    /// Starts summing `count` floats at `values` across the processes, in place, on the
    /// communication thread; they must stay untouched until the next collective, which waits
    /// for them (PlatformShims/mpi_loader.c).
    func startSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        try check(stx_mpi_sum_float_start(values, count), "summing gradients")
    }

    /// Sums (or takes the largest or smallest of) each value across the processes.
    func sum(_ values: inout [Double]) throws {
        try check(values.withUnsafeMutableBufferPointer { stx_mpi_allreduce_sum_double($0.baseAddress, $0.count) }, "a sum")
    }

    func max(_ values: inout [Double]) throws {
        try check(values.withUnsafeMutableBufferPointer { stx_mpi_allreduce_max_double($0.baseAddress, $0.count) }, "a maximum")
    }

    func min(_ values: inout [Double]) throws {
        try check(values.withUnsafeMutableBufferPointer { stx_mpi_allreduce_min_double($0.baseAddress, $0.count) }, "a minimum")
    }

    /// Makes every process hold process 0's values of these tensors (float32 or not: their
    /// bytes), as DistributedDataParallel does with the model when training starts.
    func broadcastFromFirst(_ tensors: [Tensor]) throws {
        for t in tensors {
            try check(stx_mpi_broadcast(t.storage.raw, t.count * t.dtype.size, 0), "sharing process 0's weights")
        }
    }

    /// The decisions callbacks and stop requests make on each process, agreed: a flag set on
    /// any process is set on all (they must stop, evaluate and save at the same step, or the
    /// others would wait for them in a collective).
    func agree(on control: inout TrainerControl, stopRequest: inout Int) throws {
        var flags = [control.shouldTrainingStop, control.shouldEpochStop, control.shouldEvaluate, control.shouldSave,
                     control.shouldLog].map { $0 ? 1.0 : 0 } + [Double(stopRequest)]
        try max(&flags)
        (control.shouldTrainingStop, control.shouldEpochStop) = (flags[0] > 0, flags[1] > 0)
        (control.shouldEvaluate, control.shouldSave, control.shouldLog) = (flags[2] > 0, flags[3] > 0, flags[4] > 0)
        stopRequest = Int(flags[5])
    }

    /// Throws on every process unless they all have the same `value` (named `what`).
    func checkSame(_ value: Int, _ what: String, hint: String) throws {
        let (low, high) = try spread([Double(value)])
        guard low[0] == high[0] else {
            throw SwiftTrainError.invalid("the \(size) processes disagree on \(what) (from \(Int(low[0])) to \(Int(high[0])); "
                + "this process, rank \(rank), has \(value)); \(hint)")
        }
    }

    /// The smallest and the largest of each value across the processes.
    private func spread(_ values: [Double]) throws -> (low: [Double], high: [Double]) {
        var (low, high) = (values, values)
        try min(&low)
        try max(&high)
        return (low, high)
    }

    /// This process's training failed: MPI is not finalised at exit, so the launcher ends
    /// the processes still waiting for it.
    func markFailed() { stx_mpi_mark_failed() }

    /// Throws, on every process, when the processes do not train the same run: a different
    /// model size, dataset length or training arguments (their JSON's FNV-1a hash; the
    /// directories, output_dir and logging_dir, may differ between machines).
    func checkSameRun(_ trainer: Trainer, dataset: DataSource) throws {
        guard dataset.count != nil else {
            throw SwiftTrainError.invalid("data-parallel training (\(size) processes) needs a map-style dataset, which "
                + "the processes share out; this one is iterable (it has no length)")
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var args = trainer.args
        (args.outputDir, args.loggingDir) = ("", "")
        for byte in args.json.serialized(indent: 0).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let what = ["the model's parameter count", "the training dataset's length", "whether compute_metrics is set",
                    "the training arguments"]
        let values = [Double(trainer.model.parameterCount), Double(dataset.count!), trainer.computeMetrics == nil ? 0 : 1,
                      Double(hash >> 32), Double(hash & 0xffff_ffff)]
        let (low, high) = try spread(values)
        for i in values.indices where low[i] != high[i] {
            let name = what[Swift.min(i, what.count - 1)]
            throw SwiftTrainError.invalid("the \(size) processes do not train the same run: \(name) differs between them"
                + (i < 2 ? " (from \(Int(low[i])) to \(Int(high[i])); this process, rank \(rank), has \(Int(values[i])))" : "")
                + "; start every process with the same model, data and arguments")
        }
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else {
            throw SwiftTrainError(.failure, "rank \(rank) of \(size): MPI failed (error \(rc)) in \(what)")
        }
    }
}
