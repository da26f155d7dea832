/// An in-memory dataset: a row-major float32 feature matrix [numSamples, numFeatures] and
/// either integer class labels, float regression targets, or nothing (prediction only).
///
/// The memory is either owned (copied in) or borrowed from the caller, who then keeps it
/// alive and unchanged for the dataset's lifetime.
public final class Dataset: DataSource {
    public enum Targets {
        case none
        /// One class index per row.
        case labels(UnsafePointer<Int64>)
        /// `width` floats per row.
        case values(UnsafePointer<Float>, width: Int)

        var width: Int? {
            if case let .values(_, width) = self { return width }
            return nil
        }
    }

    public let numSamples: Int
    public let numFeatures: Int
    /// The shape of one sample's features (default [numFeatures]); batches are
    /// [batch] + sampleShape, e.g. [N, 1, 8, 8] images for a convolutional model.
    public private(set) var sampleShape: [Int]
    let features: UnsafePointer<Float>
    public let targets: Targets
    private let owned: [UnsafeMutableRawPointer]

    private init(numSamples: Int, numFeatures: Int, features: UnsafePointer<Float>, targets: Targets,
                 owned: [UnsafeMutableRawPointer]) {
        self.numSamples = numSamples
        self.numFeatures = numFeatures
        self.sampleShape = [numFeatures]
        self.features = features
        self.targets = targets
        self.owned = owned
    }

    /// Copies the given arrays. `features.count` must be `numSamples * numFeatures`.
    public convenience init(features: [Float], numFeatures: Int, labels: [Int64]? = nil) throws {
        guard numFeatures > 0, features.count % numFeatures == 0 else {
            throw SwiftTrainError.shape("dataset: \(features.count) feature values is not a multiple of num_features \(numFeatures)")
        }
        let n = features.count / numFeatures
        if let labels, labels.count != n {
            throw SwiftTrainError.shape("dataset: \(n) rows of features but \(labels.count) labels")
        }
        try Self.check(numSamples: n, numFeatures: numFeatures, targetWidth: nil)
        let x = Self.copy(features)
        let l = labels.map(Self.copy)
        self.init(numSamples: n, numFeatures: numFeatures, features: x,
                  targets: l.map { .labels($0) } ?? .none,
                  owned: [UnsafeMutableRawPointer(mutating: x)] + (l.map { [UnsafeMutableRawPointer(mutating: $0)] } ?? []))
    }

    /// Copies `numSamples * numFeatures` floats and the targets.
    public convenience init(copying features: UnsafePointer<Float>, numSamples: Int, numFeatures: Int,
                            targets: Targets) throws {
        try Self.check(numSamples: numSamples, numFeatures: numFeatures, targetWidth: targets.width)
        let x = Self.copy(UnsafeBufferPointer(start: features, count: numSamples * numFeatures))
        var owned = [UnsafeMutableRawPointer(mutating: x)]
        let copied: Targets
        switch targets {
        case .none:
            copied = .none
        case let .labels(l):
            let c = Self.copy(UnsafeBufferPointer(start: l, count: numSamples))
            owned.append(UnsafeMutableRawPointer(mutating: c))
            copied = .labels(c)
        case let .values(v, width):
            let c = Self.copy(UnsafeBufferPointer(start: v, count: numSamples * width))
            owned.append(UnsafeMutableRawPointer(mutating: c))
            copied = .values(c, width: width)
        }
        self.init(numSamples: numSamples, numFeatures: numFeatures, features: x, targets: copied, owned: owned)
    }

    /// Reads the caller's memory in place; it must outlive the dataset, unchanged.
    public convenience init(borrowing features: UnsafePointer<Float>, numSamples: Int, numFeatures: Int,
                            targets: Targets) throws {
        try Self.check(numSamples: numSamples, numFeatures: numFeatures, targetWidth: targets.width)
        self.init(numSamples: numSamples, numFeatures: numFeatures, features: features, targets: targets, owned: [])
    }

    private static func copy<C: Collection>(_ values: C) -> UnsafePointer<C.Element> {
        let p = UnsafeMutablePointer<C.Element>.allocate(capacity: max(values.count, 1))
        _ = UnsafeMutableBufferPointer(start: p, count: values.count).initialize(from: values)
        return UnsafePointer(p)
    }

    deinit { for p in owned { p.deallocate() } }

    private static func check(numSamples: Int, numFeatures: Int, targetWidth: Int?) throws {
        guard numSamples > 0 else {
            throw SwiftTrainError.invalid("dataset: num_samples must be positive, got \(numSamples)")
        }
        guard numFeatures > 0 else {
            throw SwiftTrainError.invalid("dataset: num_features must be positive, got \(numFeatures)")
        }
        let (values, overflow) = numSamples.multipliedReportingOverflow(by: numFeatures)
        guard !overflow, values <= Tensor.maxElements, numSamples <= 1 << 28 else {
            throw SwiftTrainError.invalid("dataset: \(numSamples) x \(numFeatures) values is too large "
                + "(at most 2^28 samples and 2^32 values)")
        }
        if let width = targetWidth, width <= 0 || numSamples.multipliedReportingOverflow(by: width).overflow
            || numSamples * width > Tensor.maxElements {
            throw SwiftTrainError.invalid("dataset: num_targets must be positive and num_samples x num_targets small enough, got \(width)")
        }
    }

    /// Sets the shape each sample's features are read as; its element count must be
    /// numFeatures.
    public func setSampleShape(_ shape: [Int]) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), (try? Tensor.checkShape(shape)) != nil, shape.reduce(1, *) == numFeatures else {
            throw SwiftTrainError.shape("dataset: sample shape \(shape) must be positive and hold exactly num_features \(numFeatures) values")
        }
        sampleShape = shape
    }

    /// Whether the dataset has labels or targets (so a loss can be computed on it).
    public var hasTargets: Bool {
        if case .none = targets { return false }
        return true
    }

    /// Throws if a label is outside [0, classes), naming the first offending row.
    func checkLabels(classes: Int) throws {
        guard case let .labels(l) = targets else { return }
        for i in 0..<numSamples where l[i] < 0 || l[i] >= Int64(classes) {
            throw SwiftTrainError.invalid(
                "label \(l[i]) at sample \(i) is outside [0, \(classes)): the model has \(classes) outputs; "
                    + "labels must be class indices")
        }
    }
}

extension Dataset {
    public var count: Int? { numSamples }

    /// Gathers the rows `indices` into a batch: "input" [n] + sampleShape and "labels" (int64
    /// [n], or float32 [n, width]).
    public func batch(indices: ArraySlice<Int>) throws -> Batch {
        let size = indices.count, d = numFeatures
        for i in indices where i < 0 || i >= numSamples {
            throw SwiftTrainError.invalid("dataset: sample index \(i) is outside [0, \(numSamples))")
        }
        let x = Tensor(uninitialized: [size] + sampleShape)
        for (r, i) in indices.enumerated() { (x.data + r * d).update(from: features + i * d, count: d) }
        var batch = Batch()
        batch.append("input", x)
        switch targets {
        case .none:
            break
        case let .labels(l):
            let labels = Tensor(uninitialized: [size], dtype: .int64)
            for (r, i) in indices.enumerated() { labels.int64Data[r] = l[i] }
            batch.append("labels", labels)
        case let .values(v, width):
            let t = Tensor(uninitialized: [size, width])
            for (r, i) in indices.enumerated() { (t.data + r * width).update(from: v + i * width, count: width) }
            batch.append("labels", t)
        }
        return batch
    }
}
