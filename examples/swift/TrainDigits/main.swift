// Trains an MLP on the shipped digits data with the Swift API and prints the held-out
// accuracy.   swift run -c release train-digits
import Foundation
import SwiftTrain

func load(_ split: String) throws -> Dataset {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("data/digits/\(split).csv"), encoding: .utf8)
    var features: [Float] = [], labels: [Int64] = []
    for line in text.split(separator: "\n") {
        let values = line.split(separator: ",").map { Float($0)! }
        features += values.prefix(64).map { $0 / 16 }
        labels.append(Int64(values[64]))
    }
    return try Dataset(features: features, numFeatures: 64, labels: labels)
}

manualSeed(0)
let model = try Sequential(Linear(64, 64), ReLU(), Linear(64, 10))
var args = TrainingArguments()
args.numTrainEpochs = 30
args.perDeviceTrainBatchSize = 32
args.learningRate = 5e-3
args.evalStrategy = .epoch
args.outputDir = "runs/digits-swift"  // checkpoints every 500 steps and at the end (HF's defaults)
let trainer = try Trainer(model: model, loss: .crossEntropy, args: args)
trainer.trainDataset = try load("train")
trainer.evalDataset = try load("test")
trainer.addCallback(EventMask(.evaluate)) { _, state, _, metrics in
    print(String(format: "epoch %2.0f  eval_loss %.4f  eval_accuracy %.4f",
                 state.epoch, metrics!["eval_loss"]!, metrics!["eval_accuracy"]!))
}
try trainer.train()
let accuracy = try trainer.evaluate()["eval_accuracy"]!
print(String(format: "held-out accuracy: %.4f (OpenBLAS core: %@)", accuracy, BLAS.coreName))
