import XCTest
@testable import SwiftTrain

/// Whole models trained end to end: a small CNN on the digits through the Trainer, and a
/// one-layer transformer encoder on a synthetic sequence task through a hand-written loop.
final class ModelTrainingTests: XCTestCase {
    func testSmallCNNReaches97PercentOnDigits() throws {
        manualSeed(0)
        let model = try Sequential(
            Conv2d(1, 32, kernelSize: 3, padding: 1), ReLU(), MaxPool2d(2),   // [N, 32, 4, 4]
            Conv2d(32, 64, kernelSize: 3, padding: 1), ReLU(), MaxPool2d(2),  // [N, 64, 2, 2]
            Flatten(), Linear(256, 10))
        var args = TrainingArguments.noSaving
        args.numTrainEpochs = 20
        args.perDeviceTrainBatchSize = 32
        args.perDeviceEvalBatchSize = 128
        args.learningRate = 5e-3
        args.loggingSteps = 1000
        let trainer = try Trainer(model: model, loss: .crossEntropy, args: args)
        let train = try Digits.dataset("train"), test = try Digits.dataset("test")
        try train.setSampleShape([1, 8, 8])
        try test.setSampleShape([1, 8, 8])
        trainer.trainDataset = train
        try trainer.train()
        let accuracy = try trainer.evaluate(test)["eval_accuracy"]!
        print("CNN held-out accuracy: \(accuracy)")
        XCTAssertGreaterThanOrEqual(accuracy, 0.97)
    }

    /// Sequences of 10 tokens from {0, 1, 2, 3}; the label is the most frequent token (the
    /// smallest among ties). Embedding + learned positions + TransformerEncoderLayer + mean
    /// pooling + Linear, trained with AdamW for 12 epochs, must reach 90% on held-out data.
    func testTransformerEncoderLearnsMajorityToken() throws {
        manualSeed(1)
        var g = Generator(seed: 11)
        func makeData(_ n: Int) throws -> (Tensor, Tensor) {
            var tokens: [Int64] = [], labels: [Int64] = []
            for _ in 0..<n {
                let seq = (0..<10).map { _ in Int64(g.nextInt(below: 4)) }
                let counts = (0..<4).map { t in seq.filter { $0 == t }.count }
                tokens += seq
                labels.append(Int64(counts.firstIndex(of: counts.max()!)!))
            }
            return (try Tensor(shape: [n, 10], int64Values: tokens), try Tensor(shape: [n], int64Values: labels))
        }
        let (trainX, trainY) = try makeData(1024), (testX, testY) = try makeData(512)
        let embedding = try Embedding(4, 16)
        let positions = try Init.normal([1, 10, 16])
        let encoder = try TransformerEncoderLayer(dModel: 16, nhead: 2, dimFeedforward: 32, dropout: 0, batchFirst: true)
        let head = try Linear(16, 4)
        let parameters = [embedding.weight, positions] + encoder.parameters + head.parameters
        let optimizer = try Adam.adamW(parameters, lr: 3e-3, weightDecay: 0)
        func logits(_ x: Tensor) throws -> Tensor {
            let h = try encoder.forward(try embedding.forward(x) + positions)  // [B, 10, 16]
            return try head.forward(try h.mean(dims: [1]))
        }
        for epoch in 0..<12 {
            var shuffler = Generator(seed: 5, stream: UInt64(epoch))
            let order = shuffler.permutation(1024)
            for start in stride(from: 0, to: 1024, by: 32) {
                let index = try Tensor(shape: [32], int64Values: order[start..<(start + 32)].map(Int64.init))
                let loss = try crossEntropy(try logits(try trainX.indexSelectRows(index)), target: try trainY.indexSelectRows(index))
                try loss.backward()
                optimizer.step()
                for p in parameters { p.zeroGrad() }
            }
        }
        encoder.eval()
        let predicted = try withNoGrad { try logits(testX).argmax(dim: 1) }
        let accuracy = Double(zip(predicted.int64Values, testY.int64Values).filter { $0 == $1 }.count) / 512
        print("transformer held-out accuracy: \(accuracy)")
        XCTAssertGreaterThanOrEqual(accuracy, 0.9)
    }
}

extension Tensor {
    /// Rows of an int64 tensor at `index` (index_select on dim 0 for any dtype, test helper).
    fileprivate func indexSelectRows(_ index: Tensor) throws -> Tensor {
        let width = count / shape[0]
        let out = Tensor(uninitialized: [index.count] + shape.dropFirst(), dtype: dtype)
        for (i, r) in index.int64Values.enumerated() {
            (out.storage.raw + i * width * dtype.size).copyMemory(from: storage.raw + Int(r) * width * dtype.size,
                                                                  byteCount: width * dtype.size)
        }
        return out
    }
}
