// A character-level language model of your own, trained by the Swift Trainer: a CustomModule
// (embedding, causal transformer layer, linear head) fed by a map-style DataSource of text
// windows. Prints the held-out loss per character against the unigram baseline.
//
//   swift run -c release char-lm [text-file] [steps]
import Foundation
import SwiftTrain

/// Windows of `length` characters: "input_ids" the window, "labels" the next characters.
final class CharWindows: DataSource {
    let ids: [Int64], length: Int, starts: [Int]
    init(_ ids: [Int64], length: Int, stride: Int) {
        self.ids = ids
        self.length = length
        starts = Array(Swift.stride(from: 0, to: ids.count - length - 1, by: stride))
    }
    var count: Int? { starts.count }
    func batch(indices: ArraySlice<Int>) throws -> Batch {
        var inputs: [Float] = [], labels: [Float] = []
        for i in indices {
            inputs += ids[starts[i]..<(starts[i] + length)].map(Float.init)
            labels += ids[(starts[i] + 1)...(starts[i] + length)].map(Float.init)
        }
        let shape = [indices.count, length]
        return try Batch([("input_ids", try Tensor(shape: shape, values: inputs).to(.int64)),
                          ("labels", try Tensor(shape: shape, values: labels).to(.int64))])
    }
}

final class CharLM: CustomModule {
    let embedding: Embedding, position: Embedding
    let block: TransformerEncoderLayer
    let head: Linear
    var isTraining = true
    init(vocab: Int, width: Int = 64) throws {
        embedding = try Embedding(vocab, width)
        position = try Embedding(256, width)
        block = try TransformerEncoderLayer(dModel: width, nhead: 4, dimFeedforward: 4 * width, dropout: 0.1,
                                            batchFirst: true, normFirst: true)
        head = try Linear(width, vocab)
    }
    func forward(batch: Batch) throws -> ModelOutput {
        guard let ids = batch["input_ids"] else { throw SwiftTrainError(.invalidArgument, "CharLM needs input_ids") }
        let positions = try Tensor.arange(0, Double(ids.shape[1]), dtype: .int64).unsqueeze(dim: 0)
        let x = try embedding.forward(ids) + (try position.forward(positions))
        return ModelOutput(try head.forward(try block.forward(x, mask: nil, isCausal: true)))  // [batch, time, vocab]
    }
}

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "/usr/share/common-licenses/GPL-3"
let text = Array(try String(contentsOfFile: path, encoding: .utf8))
let vocab = Array(Set(text)).sorted()
let index = Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($0.element, Int64($0.offset)) })
let ids = text.map { index[$0]! }
let split = ids.count * 9 / 10

manualSeed(0)
var args = TrainingArguments()
args.maxSteps = arguments.count > 2 ? Int(arguments[2])! : 600
args.perDeviceTrainBatchSize = 32
args.perDeviceEvalBatchSize = 64
args.learningRate = 3e-3
args.weightDecay = 0.01
args.warmupSteps = 0.05
args.lrSchedulerType = .cosine
args.loggingSteps = 100
args.saveStrategy = .no
let trainer = try Trainer(model: try CharLM(vocab: vocab.count), loss: .crossEntropy, args: args)
trainer.trainDataset = CharWindows(Array(ids[..<split]), length: 64, stride: 16)
trainer.addCallback(EventMask(.log)) { _, state, _, logs in
    if let loss = logs?["loss"] { print(String(format: "step %4d  loss %.3f", state.globalStep, loss)) }
}
try trainer.train()
let loss = try trainer.evaluate(CharWindows(Array(ids[split...]), length: 64, stride: 64))["eval_loss"]!
var counts: [Int64: Double] = [:]
for id in ids[..<split] { counts[id, default: 0] += 1 }
let unigram = -counts.values.reduce(0) { $0 + $1 / Double(split) * log($1 / Double(split)) }
print(String(format: "held-out loss per character: %.3f nats (unigram baseline %.3f)", loss, unigram))
exit(loss < unigram - 0.5 ? 0 : 1)
