/// Classification metrics accumulated batch by batch: accuracy, top-k accuracy and macro
/// precision, recall and F1 (scikit-learn's definitions: macro averages run over the classes
/// that occur as a label or a prediction; a class never predicted has precision 0).
public struct ClassificationMetrics: Sendable {
    public let classes: Int
    public let topK: Int
    /// Per class: correct predictions, predictions, and labels (O(classes): a vocabulary of
    /// 50k classes costs 1.2 MB, where a confusion matrix would take 20 GB).
    private var truePositives: [Int], predictedCounts: [Int], actualCounts: [Int]
    private var topKHits = 0
    public private(set) var count = 0

    public init(classes: Int, topK: Int = 5) {
        self.classes = classes
        self.topK = topK
        truePositives = Array(repeating: 0, count: classes)
        predictedCounts = truePositives
        actualCounts = truePositives
    }

    /// Every count, as numbers to add up across processes (data-parallel evaluation, each
    /// process on its share of the set); `sums = added` takes the totals back.
    var sums: [Double] {
        get { (truePositives + predictedCounts + actualCounts + [topKHits, count]).map(Double.init) }
        set {
            let n = newValue.map { Int($0) }
            (truePositives, predictedCounts) = (Array(n[0..<classes]), Array(n[classes..<(2 * classes)]))
            actualCounts = Array(n[(2 * classes)..<(3 * classes)])
            (topKHits, count) = (n[3 * classes], n[3 * classes + 1])
        }
    }

    /// Adds `rows` rows of logits [rows, classes] with their labels. Rows whose label is not
    /// a class (HF's -100 for padding and ignored tokens) are skipped.
    public mutating func add(logits: UnsafePointer<Float>, rows: Int, labels: UnsafePointer<Int64>) {
        for r in 0..<rows {
            guard labels[r] >= 0, labels[r] < Int64(classes) else { continue }
            let row = logits + r * classes, label = Int(labels[r])
            var best = 0, above = 0
            for c in 1..<Swift.max(classes, 1) where row[c] > row[best] { best = c }
            for c in 0..<classes where row[c] > row[label] { above += 1 }
            actualCounts[label] += 1
            predictedCounts[best] += 1
            if best == label { truePositives[label] += 1 }
            if above < topK { topKHits += 1 }
            count += 1
        }
    }

    public var accuracy: Double {
        Double(truePositives.reduce(0, +)) / Double(Swift.max(count, 1))
    }

    public var topKAccuracy: Double { Double(topKHits) / Double(Swift.max(count, 1)) }

    /// Per class (true positives, predicted, actual), for the classes that occur.
    private var perClass: [(tp: Int, predicted: Int, actual: Int)] {
        (0..<classes).compactMap { c in
            actualCounts[c] + predictedCounts[c] == 0 ? nil : (truePositives[c], predictedCounts[c], actualCounts[c])
        }
    }

    private func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
    private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

    public var precisionMacro: Double { mean(perClass.map { ratio($0.tp, $0.predicted) }) }
    public var recallMacro: Double { mean(perClass.map { ratio($0.tp, $0.actual) }) }
    public var f1Macro: Double {
        mean(perClass.map { c in
            let p = ratio(c.tp, c.predicted), r = ratio(c.tp, c.actual)
            return p + r == 0 ? 0 : 2 * p * r / (p + r)
        })
    }
}

/// Regression metrics accumulated batch by batch: MSE, MAE and R2 (scikit-learn's
/// uniform average over outputs; R2 is 1 for a constant target predicted exactly, else 0).
public struct RegressionMetrics: Sendable {
    public let width: Int
    private var sumTarget: [Double], sumTargetSquared: [Double], sumSquaredError: [Double]
    private var sumAbsoluteError = 0.0
    public private(set) var count = 0

    public init(width: Int) {
        self.width = width
        sumTarget = Array(repeating: 0, count: width)
        sumTargetSquared = Array(repeating: 0, count: width)
        sumSquaredError = Array(repeating: 0, count: width)
    }

    /// The sums, to add up across processes (as ClassificationMetrics.sums).
    var sums: [Double] {
        get { sumTarget + sumTargetSquared + sumSquaredError + [sumAbsoluteError, Double(count)] }
        set {
            sumTarget = Array(newValue[0..<width])
            sumTargetSquared = Array(newValue[width..<(2 * width)])
            sumSquaredError = Array(newValue[(2 * width)..<(3 * width)])
            (sumAbsoluteError, count) = (newValue[3 * width], Int(newValue[3 * width + 1]))
        }
    }

    /// Adds `rows` rows of predictions and targets, both [rows, width].
    public mutating func add(predictions: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int) {
        for r in 0..<rows {
            for j in 0..<width {
                let y = Double(targets[r * width + j]), e = Double(predictions[r * width + j]) - y
                sumTarget[j] += y
                sumTargetSquared[j] += y * y
                sumSquaredError[j] += e * e
                sumAbsoluteError += Swift.abs(e)
            }
        }
        count += rows
    }

    public var mse: Double { sumSquaredError.reduce(0, +) / Double(Swift.max(count * width, 1)) }
    public var mae: Double { sumAbsoluteError / Double(Swift.max(count * width, 1)) }
    public var r2: Double {
        let n = Double(Swift.max(count, 1))
        let scores = (0..<width).map { j -> Double in
            let total = sumTargetSquared[j] - sumTarget[j] * sumTarget[j] / n
            if total <= 0 { return sumSquaredError[j] == 0 ? 1 : 0 }
            return 1 - sumSquaredError[j] / total
        }
        return scores.reduce(0, +) / Double(Swift.max(width, 1))
    }
}
