import PublicHeader
import SwiftTrain

/// A map-style data source whose batches a C function fills.
final class IndexedProvider: DataSource {
    let numSamples: Int
    let fetch: st_fetch_fn
    let owner: UserData
    init(numSamples: Int, fetch: st_fetch_fn, owner: UserData) {
        self.numSamples = numSamples
        self.fetch = fetch
        self.owner = owner
    }

    var count: Int? { numSamples }

    func batch(indices: ArraySlice<Int>) throws -> Batch {
        let box = BatchBox(Batch(), writable: true)
        let list = indices.map { Int64($0) }
        try lend(box) { b in
            try list.withUnsafeBufferPointer { p in
                try callHost("the data provider") { fetch(b, p.baseAddress, p.count, owner.pointer) }
            }
        }
        guard box.batch.size == indices.count else {
            throw SwiftTrainError(.shapeMismatch, "the data provider filled \(box.batch.size) samples for \(indices.count) indices"
                + (box.batch.count == 0 ? " (no entries; add them with st_batch_add)" : " (\(box.batch.summary))"))
        }
        return box.batch
    }
}

/// An iterable data source whose batches a C function fills.
final class StreamProvider: DataSource {
    let next: st_next_batch_fn
    let owner: UserData
    init(next: st_next_batch_fn, owner: UserData) {
        self.next = next
        self.owner = owner
    }

    var count: Int? { nil }

    func batch(epoch: Int, index: Int, batchSize: Int) throws -> Batch? {
        let box = BatchBox(Batch(), writable: true)
        var rc: Int32 = 0
        try lend(box) { b in
            try callHost("the data provider") {
                rc = next(b, Int64(epoch), Int64(index), Int64(batchSize), owner.pointer)
                return rc == ST_DATA_END ? 0 : rc
            }
        }
        if rc == ST_DATA_END { return nil }
        guard box.batch.size > 0 else {
            throw SwiftTrainError(.invalidArgument, "the data provider returned an empty batch; return ST_DATA_END at the end of an epoch")
        }
        guard box.batch.size <= batchSize else {
            throw SwiftTrainError(.shapeMismatch, "the data provider filled \(box.batch.size) samples, more than the batch size \(batchSize)")
        }
        return box.batch
    }
}

@c @implementation
public func st_dataset_create_indexed(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ numSamples: Int64, _ fetch: st_fetch_fn?,
                                      _ userData: UnsafeMutableRawPointer?,
                                      _ freeUserData: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) -> st_status {
    status {
        let fn = "st_dataset_create_indexed"
        out?.pointee = nil
        guard let out else { throw nullArgument(fn, "out") }
        let function = try required(fetch, fn, "fetch")
        guard numSamples > 0, numSamples <= 1 << 28 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): num_samples must be in [1, 2^28], got \(numSamples) "
                + "(use st_dataset_create_stream for more)")
        }
        let owner = UserData(userData, free: freeUserData)  // (on failure free_user_data is never called)
        out.pointee = Handle.make(IndexedProvider(numSamples: Int(numSamples), fetch: function, owner: owner))
    }
}

@c @implementation
public func st_dataset_create_stream(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ next: st_next_batch_fn?,
                                     _ userData: UnsafeMutableRawPointer?,
                                     _ freeUserData: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) -> st_status {
    status {
        let fn = "st_dataset_create_stream"
        out?.pointee = nil
        guard let out else { throw nullArgument(fn, "out") }
        let function = try required(next, fn, "next")
        let owner = UserData(userData, free: freeUserData)  // (on failure free_user_data is never called)
        out.pointee = Handle.make(StreamProvider(next: function, owner: owner))
    }
}
