import PublicHeader
import SwiftTrain

/// Creates a dataset from caller buffers, copying or borrowing them.
private func makeDataset(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ fn: String,
                         _ features: UnsafePointer<Float>?, _ numSamples: Int64, _ numFeatures: Int64,
                         _ targets: Dataset.Targets, _ ownership: st_data_ownership) throws {
    let x = try required(features, fn, "features")
    guard numSamples > 0 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): num_samples must be positive, got \(numSamples)")
    }
    guard numFeatures > 0 else {
        throw SwiftTrainError(.invalidArgument, "\(fn): num_features must be positive, got \(numFeatures)")
    }
    try Handle.output(out, fn) {
        switch ownership {
        case ST_DATA_COPY:
            return try Dataset(copying: x, numSamples: Int(numSamples), numFeatures: Int(numFeatures), targets: targets)
        case ST_DATA_BORROW:
            return try Dataset(borrowing: x, numSamples: Int(numSamples), numFeatures: Int(numFeatures), targets: targets)
        default:
            throw SwiftTrainError(.invalidArgument,
                                  "\(fn): unknown ownership \(Int32(bitPattern: ownership.rawValue)); use ST_DATA_COPY or ST_DATA_BORROW")
        }
    }
}

@c @implementation
public func st_dataset_create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ features: UnsafePointer<Float>?,
                              _ numSamples: Int64, _ numFeatures: Int64, _ labels: UnsafePointer<Int64>?,
                              _ ownership: st_data_ownership) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        try makeDataset(out, "st_dataset_create", features, numSamples, numFeatures,
                        labels.map { .labels($0) } ?? .none, ownership)
    }
}

@c @implementation
public func st_dataset_create_regression(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                         _ features: UnsafePointer<Float>?, _ numSamples: Int64,
                                         _ numFeatures: Int64, _ targets: UnsafePointer<Float>?,
                                         _ numTargets: Int64, _ ownership: st_data_ownership) -> st_status {
    status {
        out?.pointee = nil  // handle out-parameters are NULL on failure
        let fn = "st_dataset_create_regression"
        let t = try required(targets, fn, "targets")
        guard numTargets > 0 else {
            throw SwiftTrainError(.invalidArgument, "\(fn): num_targets must be positive, got \(numTargets)")
        }
        try makeDataset(out, fn, features, numSamples, numFeatures, .values(t, width: Int(numTargets)), ownership)
    }
}

@c @implementation
public func st_dataset_num_samples(_ out: UnsafeMutablePointer<Int64>?, _ dataset: OpaquePointer?) -> st_status {
    status {
        let fn = "st_dataset_num_samples"
        let d = try Handle.get(dataset, as: (any DataSource).self, fn, "dataset")
        guard let n = d.count else {
            throw SwiftTrainError(.invalidArgument, "\(fn): the dataset is iterable (st_dataset_create_stream); it has no length")
        }
        try required(out, fn, "out").pointee = Int64(n)
    }
}

@c @implementation
public func st_dataset_set_sample_shape(_ dataset: OpaquePointer?, _ shape: UnsafePointer<Int64>?, _ ndim: Int) -> st_status {
    status {
        let fn = "st_dataset_set_sample_shape"
        guard let d = try Handle.get(dataset, as: (any DataSource).self, fn, "dataset") as? Dataset else {
            throw SwiftTrainError(.invalidArgument, "\(fn): the dataset is a data provider; its batches have the shapes it gives them")
        }
        try d.setSampleShape(try shapeArgument(shape, ndim, fn))
    }
}

@c @implementation
public func st_dataset_free(_ dataset: OpaquePointer?) {
    Handle.release(dataset)
}
