import XCTest
@testable import SwiftTrain

/// Behaviour users rely on beyond the numbers: errors, views, no-grad, state dicts.
final class TensorBehaviourTests: XCTestCase {
    private func error(_ body: () throws -> Any) -> SwiftTrainError? {
        do { _ = try body(); return nil } catch { return error as? SwiftTrainError }
    }

    func testShapeErrorsNameTheOpAndBothShapes() throws {
        let a = try Tensor.full([2, 3], 1), b = try Tensor.full([4, 5], 1)
        let e = try XCTUnwrap(error { try a.matmul(b) })
        XCTAssertEqual(e.code, .shapeMismatch)
        XCTAssertTrue(e.message.contains("matmul") && e.message.contains("[2, 3]") && e.message.contains("[4, 5]"), e.message)
        let f = try XCTUnwrap(error { try a + (try Tensor.full([4], 1)) })
        XCTAssertTrue(f.message.contains("add") && f.message.contains("[2, 3]") && f.message.contains("[4]"), f.message)
    }

    func testDtypeMismatchesAreInvalidArguments() throws {
        let labels = try Tensor(shape: [2], int64Values: [0, 1])
        let e = try XCTUnwrap(error { try labels.exp() })
        XCTAssertEqual(e.code, .invalidArgument)
        XCTAssertTrue(e.message.contains("exp") && e.message.contains("int64"), e.message)
        let logits = try Tensor.full([2, 3], 0)
        let g = try XCTUnwrap(error { try crossEntropy(logits, target: try Tensor.full([2], 1)) })
        XCTAssertTrue(g.message.contains("int64"), g.message)
    }

    func testBackwardNeedsAScalarAndRunsOnce() throws {
        let w = try Tensor.full([2, 2], 0.5, requiresGrad: true)
        let y = try w * w
        let e = try XCTUnwrap(error { try y.backward() })
        XCTAssertTrue(e.message.contains("scalar"), e.message)
        let loss = try y.sum()
        try loss.backward()
        XCTAssertEqual(w.grad?.values, [1, 1, 1, 1])
        XCTAssertEqual(try XCTUnwrap(error { try loss.backward() }).code, .misuse)
    }

    func testReshapeIsAViewAndDetachCutsTheGraph() throws {
        let a = try Tensor(shape: [2, 2], values: [1, 2, 3, 4], requiresGrad: true)
        let v = try a.reshape([4])
        v.withUnsafeMutableBufferPointer { $0[0] = 10 }
        XCTAssertEqual(a.values[0], 10)
        let d = a.detach()
        XCTAssertFalse(d.requiresGrad)
        XCTAssertFalse(try d.exp().requiresGrad)
    }

    func testNoGradRecordsNothingAndRestores() throws {
        let w = try Tensor.full([2], 1, requiresGrad: true)
        let y = try withNoGrad { try w * w }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(isGradEnabled)
        XCTAssertTrue(try (w * w).requiresGrad)
    }

    func testLoadStateDictNamesEveryProblemAndChangesNothing() throws {
        manualSeed(0)
        let model = try Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
        let before = model.stateDict().map(\.tensor.values)
        var state = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
        state["0.bias"] = nil
        state["extra.weight"] = try Tensor.full([1], 0)
        state["2.weight"] = try Tensor.full([3, 3], 0)
        let e = try XCTUnwrap(error { try model.loadStateDict(state) })
        for fragment in ["missing keys: 0.bias", "unexpected keys: extra.weight", "2.weight: expected float32 [2, 4], got float32 [3, 3]"] {
            XCTAssertTrue(e.message.contains(fragment), e.message)
        }
        XCTAssertEqual(model.stateDict().map(\.tensor.values), before)
        state["2.weight"] = try Tensor.full([2, 4], 0.25)
        try model.loadStateDict(state, strict: false)
        XCTAssertEqual(model.stateDict().first { $0.name == "2.weight" }?.tensor.values, [Float](repeating: 0.25, count: 8))
    }

    func testDropoutIsSeededAndRespectsEvalMode() throws {
        let x = try Tensor.full([1000], 1)
        let layer = try Dropout(p: 0.3)
        manualSeed(5)
        let a = try layer.forward(x).values
        manualSeed(5)
        XCTAssertEqual(try layer.forward(x).values, a)
        let kept = a.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 1000, 0.7, accuracy: 0.05)
        XCTAssertEqual(kept[0], 1 / 0.7, accuracy: 1e-6)
        layer.eval()
        XCTAssertEqual(try layer.forward(x).values, x.values)
    }

    func testBatchNormUsesRunningStatisticsInEvalMode() throws {
        let bn = try BatchNorm.oneD(2)
        let x = try Tensor(shape: [4, 2], values: [1, 10, 2, 20, 3, 30, 4, 40])
        _ = try bn.forward(x)
        XCTAssertEqual(bn.runningMean!.values, [0.25, 2.5])
        XCTAssertEqual(bn.numBatchesTracked!.int64Values, [1])
        bn.eval()
        let y = try bn.forward(x)
        XCTAssertEqual(y.values[0], (1 - 0.25) / (bn.runningVar!.values[0] + 1e-5).squareRoot(), accuracy: 1e-5)
    }
}

final class IntegerTensorTests: XCTestCase {
    func testInt64ArithmeticStaysInt64AndMixedPromotesToFloat() throws {
        let a = try Tensor.arange(0, 3, dtype: .int64)
        let b = try a + 1
        XCTAssertEqual(b.dtype, .int64)
        XCTAssertEqual(b.int64Values, [1, 2, 3])
        XCTAssertEqual(try (a * a).int64Values, [0, 1, 4])
        XCTAssertEqual(try (-a).int64Values, [0, -1, -2])
        let c = try a + (try Tensor.full([3], 0.5))
        XCTAssertEqual(c.dtype, .float32)
        XCTAssertEqual(c.values, [0.5, 1.5, 2.5])
        XCTAssertEqual(try (a / 2).values, [0, 0.5, 1])
        XCTAssertEqual(try a.to(.float32).values, [0, 1, 2])
        XCTAssertEqual(try (try Tensor(shape: [2], values: [-1.7, 2.9])).to(.int64).int64Values, [-1, 2])
    }

    func testIndexingInt64Tensors() throws {
        let t = try Tensor(shape: [3, 2], int64Values: [10, 11, 20, 21, 30, 31])
        let rows = try t.indexSelect(dim: 0, index: try Tensor(shape: [2], int64Values: [2, 0]))
        XCTAssertEqual(rows.int64Values, [30, 31, 10, 11])
        let g = try t.gather(dim: 1, index: try Tensor(shape: [3, 1], int64Values: [1, 0, 1]))
        XCTAssertEqual(g.int64Values, [11, 20, 31])
    }
}
