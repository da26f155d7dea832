/// Where a trainer's batches come from. Two kinds, as in PyTorch:
///
/// - **map-style** (`count` is the number of samples): the trainer's sampler decides the
///   order (seeded shuffle per epoch, or in order) and asks for the batch of given sample
///   indices. Resume is exact and the order can be sharded. The in-memory `Dataset` is one.
/// - **iterable** (`count` is nil): the source yields batch `index` of `epoch` in turn and
///   nil at the end of the epoch; training needs max_steps (as HF's with an IterableDataset).
///
/// Every batch is named tensors with the batch as their first dimension.
public protocol DataSource: AnyObject {
    /// The number of samples of a map-style source; nil for an iterable one.
    var count: Int? { get }
    /// Map-style: the collated batch of these samples (each index in 0..<count).
    func batch(indices: ArraySlice<Int>) throws -> Batch
    /// Iterable: batch `index` (from 0) of `epoch` with up to `batchSize` samples, or nil when
    /// the epoch has no more. Called with consecutive indices, except that a resumed run
    /// starts its first epoch at the index it had reached.
    func batch(epoch: Int, index: Int, batchSize: Int) throws -> Batch?
}

extension DataSource {
    public func batch(indices: ArraySlice<Int>) throws -> Batch {
        throw SwiftTrainError.misuse("\(type(of: self)) is an iterable data source; it has no batches by sample index")
    }

    public func batch(epoch: Int, index: Int, batchSize: Int) throws -> Batch? {
        throw SwiftTrainError.misuse("\(type(of: self)) is a map-style data source; the trainer asks for batches by sample index")
    }
}

/// Splits a source into the batches of each epoch: for a map-style source in a seeded random
/// order per epoch (or in order); the order of epoch e depends only on (seed, e), so any
/// epoch can be reproduced without replaying the ones before it.
struct DataLoader {
    let source: DataSource
    let batchSize: Int
    let shuffle: Bool
    let seed: UInt64
    let dropLast: Bool
    let labelNames: [String]
    /// Data-parallel training: this process's index and the number of processes. Each
    /// global batch is `batchSize * worldSize` samples of the epoch's order (one order for all
    /// processes), and this process takes its `rank`-th slice of `batchSize` of them.
    let rank: Int, worldSize: Int
    /// The samples of a map-style source; nil for an iterable one.
    let numSamples: Int?
    /// The epoch's shuffled order; nil in order (nothing is allocated for it).
    private(set) var order: [Int]?
    private(set) var epoch = 0
    /// The most samples a map-style source may have (as an in-memory Dataset).
    static let maxSamples = 1 << 28

    init(source: DataSource, batchSize: Int, shuffle: Bool, seed: UInt64, dropLast: Bool, labelNames: [String] = ["labels"],
         rank: Int = 0, worldSize: Int = 1) {
        self.source = source
        self.rank = rank
        self.worldSize = worldSize
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.labelNames = labelNames
        self.numSamples = source.count
    }

    /// Throws when a map-style source's length is out of range.
    static func checkCount(_ source: DataSource) throws {
        guard let n = source.count else { return }
        guard n >= 0, n <= maxSamples else {
            throw SwiftTrainError.invalid("the dataset has \(n) samples; a map-style dataset may have 0 to 2^28 "
                + "(use an iterable dataset for more)")
        }
    }

    /// nil for an iterable source.
    var batchesPerEpoch: Int? {
        guard let n = numSamples else { return nil }
        let global = batchSize * worldSize
        return dropLast ? n / global : (n + global - 1) / global
    }

    mutating func setEpoch(_ epoch: Int) {
        self.epoch = epoch
        guard shuffle, let n = numSamples, n <= Self.maxSamples else { return }
        var generator = Generator(seed: seed, stream: UInt64(epoch))
        var reused = order ?? []  // (the last epoch's memory)
        order = nil
        generator.permutation(n, into: &reused)
        order = reused
    }

    /// The positions in the epoch's order of map-style batch `index`'s samples (`sample(at:)`
    /// gives each sample): what `batch(_:)` collates, for code that gathers rows itself.
    func positions(ofBatch index: Int) -> Range<Int> {
        let n = numSamples ?? 0
        let start = Swift.min((index * worldSize + rank) * batchSize, n)
        return start..<Swift.min(start + batchSize, n)
    }

    /// The sample at `position` of the current epoch's order (map-style sources).
    @inline(__always) func sample(at position: Int) -> Int { order?[position] ?? position }

    /// Batch `index` of the current epoch, or nil past its end. Errors name the epoch and the
    /// batch.
    func batch(_ index: Int) throws -> Batch? {
        do {
            var batch: Batch
            if numSamples != nil {
                guard index < batchesPerEpoch! else { return nil }
                let positions = positions(ofBatch: index)
                if positions.isEmpty {  // this process's share of a short last global batch
                    var empty = Batch()
                    empty.labelNames = labelNames
                    return empty
                }
                batch = try source.batch(indices: order?[positions] ?? Array(positions)[...])
            } else {
                guard let b = try source.batch(epoch: epoch, index: index, batchSize: batchSize) else { return nil }
                batch = b
            }
            guard batch.size > 0 else {
                throw SwiftTrainError.invalid("the data source returned an empty batch")
            }
            // (an in-memory dataset's labels take the first label name)
            if source is Dataset, let first = labelNames.first, first != "labels" { batch.rename("labels", to: first) }
            batch.labelNames = labelNames
            return batch
        } catch var error as SwiftTrainError {
            if !error.message.hasPrefix("epoch ") { error.message = "epoch \(epoch), batch \(index): \(error.message)" }
            throw error
        }
    }
}
