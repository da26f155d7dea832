import Foundation
import SwiftTrain

/// The shipped digits data (data/digits/*.csv): 64 pixels (0..16) and a label per row.
enum Digits {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/digits")

    /// Features scaled to [0, 1] and labels of one split ("train" or "test").
    static func load(_ split: String) throws -> (features: [Float], labels: [Int64]) {
        let text = try String(contentsOf: directory.appendingPathComponent("\(split).csv"), encoding: .utf8)
        var features: [Float] = [], labels: [Int64] = []
        for line in text.split(separator: "\n") {
            let values = line.split(separator: ",").map { Int($0)! }
            precondition(values.count == 65)
            features += values.prefix(64).map { Float($0) / 16 }
            labels.append(Int64(values[64]))
        }
        return (features, labels)
    }

    static func dataset(_ split: String) throws -> Dataset {
        let (x, y) = try load(split)
        return try Dataset(features: x, numFeatures: 64, labels: y)
    }

    static func mlp() throws -> Sequential {
        try Sequential(Linear(64, 64), ReLU(), Linear(64, 10))
    }
}

extension TrainingArguments {
    /// HF's defaults but without checkpoints, for tests that are not about saving (HF's
    /// default save_strategy "steps" writes one at the end of every run).
    static var noSaving: TrainingArguments {
        var args = TrainingArguments()
        args.saveStrategy = .no
        return args
    }
}
