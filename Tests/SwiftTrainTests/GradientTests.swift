import XCTest
@testable import SwiftTrain

/// Analytic gradients against central finite differences (computed in Double from float32
/// forward passes, so tolerances are those of float32 arithmetic).
final class GradientTests: XCTestCase {
    private func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) throws -> Tensor {
        var g = Generator(seed: seed)
        let n = shape.reduce(1, *)
        return try Tensor(shape: shape, values: (0..<n).map { _ in g.uniform(-scale, scale) }, requiresGrad: true)
    }

    /// Checks d(loss)/d(t) for every element of every tensor in `inputs`.
    private func check(_ inputs: [Tensor], tolerance: Double = 2e-2, file: StaticString = #filePath, line: UInt = #line,
                       _ loss: () throws -> Tensor) throws {
        for t in inputs { t.zeroGrad() }
        try loss().backward()
        for (k, t) in inputs.enumerated() {
            let analytic = try XCTUnwrap(t.grad, "input \(k) got no gradient", file: file, line: line).values
            for i in 0..<t.count {
                let saved = t.storage.base[i]
                let h: Float = 1e-2
                t.storage.base[i] = saved + h
                let up = Double(try withNoGrad { try loss() }.item())
                t.storage.base[i] = saved - h
                let down = Double(try withNoGrad { try loss() }.item())
                t.storage.base[i] = saved
                let numeric = (up - down) / (2 * Double(h))
                let error = abs(numeric - Double(analytic[i])) / max(1e-2, abs(numeric) + abs(Double(analytic[i])))
                XCTAssertLessThan(error, tolerance, "input \(k) element \(i): analytic \(analytic[i]) vs numeric \(numeric)",
                                  file: file, line: line)
            }
        }
    }

    func testLinearReLUCrossEntropy() throws {
        let x = try randomTensor([5, 4], seed: 1)
        let w1 = try randomTensor([6, 4], seed: 2), b1 = try randomTensor([6], seed: 3)
        let w2 = try randomTensor([3, 6], seed: 4), b2 = try randomTensor([3], seed: 5)
        let labels = [0, 2, 1, 2, 0]
        try check([x, w1, b1, w2, b2]) {
            try crossEntropy(try x.linear(weight: w1, bias: b1).relu().linear(weight: w2, bias: b2), labels: labels)
        }
    }

    func testMatmulMSE() throws {
        let a = try randomTensor([3, 4], seed: 6), b = try randomTensor([4, 2], seed: 7)
        let target = try randomTensor([3, 2], seed: 8)
        try check([a, b, target]) { try mseLoss(try a.matmul(b), target) }
    }

    func testGradientsAccumulateAcrossBackwardCalls() throws {
        let w = try randomTensor([2, 3], seed: 9)
        let x = try Tensor(shape: [1, 3], values: [1, 2, 3])
        let target = try Tensor(shape: [1, 2], values: [0, 0])
        try mseLoss(try x.linear(weight: w, bias: nil), target).backward()
        let once = w.grad!.values
        try mseLoss(try x.linear(weight: w, bias: nil), target).backward()
        XCTAssertEqual(w.grad!.values, once.map { $0 * 2 })
        w.zeroGrad()
        XCTAssertNil(w.grad)
    }

    func testCrossEntropyIsStableForExtremeLogits() throws {
        let logits = try Tensor(shape: [2, 3], values: [1000, -1000, 0, -1e4, 1e4, 1e4], requiresGrad: true)
        let loss = try crossEntropy(logits, labels: [0, 1])
        // row 2 is log 2; float32 rounding of 1e4 + log 2 (ulp ~1e-3) bounds the accuracy
        XCTAssertEqual(try loss.item(), Float(0.5 * 0.6931472), accuracy: 1e-3)
        try loss.backward()
        XCTAssertTrue(logits.grad!.values.allSatisfy(\.isFinite))
    }

    func testNoGradRecordsNothing() throws {
        let w = try randomTensor([2, 2], seed: 10)
        let y = try withNoGrad { try w.matmul(w) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.op)
    }

    func testBackwardReleasesTheGraph() throws {
        let w = try randomTensor([2, 2], seed: 11)
        let hidden = try w.matmul(w)
        let loss = try mseLoss(hidden, try Tensor(shape: [2, 2], values: [0, 0, 0, 0]))
        try loss.backward()
        XCTAssertNil(hidden.op)
        XCTAssertNil(loss.op)
        XCTAssertThrowsError(try hidden.backward())  // not a scalar
    }
}
