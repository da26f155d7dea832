import XCTest
@testable import SwiftTrain

/// Views (slices of one contiguous block share memory), copies that stand for PyTorch's
/// strided views (writes refused), retain_graph, topk and gradient clipping.
final class TensorViewTests: XCTestCase {
    private func grid(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
        try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0) + 1 }, requiresGrad: requiresGrad)
    }

    func testSlicesOfOneBlockAreViews() throws {
        let t = try grid([4, 3])
        let rows = try t.slice(dim: 0, start: 1, end: 3)      // t[1:3]
        let row = try t.select(dim: 0, index: 2)              // t[2]
        let all = try t.slice(dim: 1, start: 0, end: 3)       // t[:, :]
        let one = try row.slice(dim: 0, start: 1, end: 2)     // t[2][1:2]
        for v in [rows, row, all, one] { XCTAssertNil(v.copiedView); XCTAssertNoThrow(try v.checkWritable()) }
        rows.withUnsafeMutableBufferPointer { $0[0] = -1 }    // t[1][0]
        one.withUnsafeMutableBufferPointer { $0[0] = -2 }     // t[2][1]
        all.withUnsafeMutableBufferPointer { $0[11] = -3 }    // t[3][2]
        XCTAssertEqual(t.values, [1, 2, 3, -1, 5, 6, 7, -2, 9, 10, 11, -3])
        XCTAssertEqual(row.values, [7, -2, 9])
    }

    func testStridedSlicesAndPermutationsAreMarkedCopies() throws {
        let t = try grid([4, 3])
        let column = try t.select(dim: 1, index: 1)           // t[:, 1]
        let every = try t.slice(dim: 0, start: 0, end: 4, step: 2)
        for c in [column, every, try t.transpose(0, 1), try t.reshape([4, 3, 1]).expand([4, 3, 2])] {
            let e = try XCTUnwrap({ () -> SwiftTrainError? in
                do { try c.checkWritable("copy_"); return nil } catch let e as SwiftTrainError { return e } catch { return nil }
            }())
            XCTAssertEqual(e.code, .misuse)
            XCTAssertTrue(e.message.contains("copy_: this tensor is a copy of") && e.message.contains("clone()"), e.message)
        }
        XCTAssertEqual(column.values, [2, 5, 8, 11])
        // A view of a marked copy is marked as well; the copy's detach too.
        XCTAssertNotNil(try column.slice(dim: 0, start: 0, end: 2).copiedView)
        XCTAssertNotNil(column.detach().copiedView)
        XCTAssertNil(try (column * 1).copiedView)
    }

    func testGradientsThroughViewsAndCopies() throws {
        let x = try Tensor(shape: [3, 4], values: (0..<12).map { Float($0) / 10 }, requiresGrad: true)
        var g = Generator(seed: 3)
        let up = try Tensor.normal([2, 4], generator: &g), upColumn = try Tensor.normal([3], generator: &g)
        let checked = try gradCheck("slices", [x]) {
            let block = try x.slice(dim: 0, start: 1, end: 3)                  // a view
            let column = try x.select(dim: 1, index: 2)                        // a copy
            let row = try x.select(dim: 0, index: 0).slice(dim: 0, start: 1)   // view of a view
            return try (try (block * block) * up).sum() + (try column.exp() * upColumn).sum() + row.sum()
        }
        XCTAssertEqual(checked, 12)
    }

    func testRetainGraphAllowsASecondBackward() throws {
        let w = try Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let loss = try (try w * w).sum()
        try loss.backward(retainGraph: true)
        try loss.backward()
        XCTAssertEqual(w.grad?.values, [4, 8])
        XCTAssertThrowsError(try loss.backward())
    }

    func testTopkLikeTorch() throws {
        let x = try Tensor(shape: [2, 4], values: [1, 7, 3, 5, .nan, 2, 9, 2], requiresGrad: true)
        let (v, i) = try x.topk(2)
        XCTAssertEqual(Array(v.values[0...1]), [7, 5])
        XCTAssertTrue(v.values[2].isNaN)
        XCTAssertEqual(v.values[3], 9)
        XCTAssertEqual(i.int64Values, [1, 3, 0, 2])
        let (small, at) = try x.topk(3, dim: 1, largest: false)
        XCTAssertEqual(small.values, [1, 3, 5, 2, 2, 9])
        XCTAssertEqual(at.int64Values, [0, 2, 3, 1, 3, 2])  // ties by index
        try small.sum().backward()
        XCTAssertEqual(x.grad?.values, [1, 0, 1, 1, 0, 1, 1, 1])
        XCTAssertThrowsError(try x.topk(5))
        let (column, rows) = try Tensor(shape: [3], int64Values: [4, 9, 1]).topk(1, dim: 0)
        XCTAssertEqual(column.int64Values, [9])
        XCTAssertEqual(rows.int64Values, [1])
        let big = try Tensor(shape: [2], int64Values: [1 << 53, (1 << 53) + 1]).topk(1)  // not rounded to Double
        XCTAssertEqual(big.indices.int64Values, [1])
    }

    func testClipGradNormAndValue() throws {
        let a = try Tensor(shape: [2], values: [0, 0], requiresGrad: true)
        let b = try Tensor(shape: [1], values: [0], requiresGrad: true)
        func fill() throws {
            a.zeroGrad(); b.zeroGrad()
            try (try (a * (try Tensor(shape: [2], values: [3, -4]))).sum() + (b * (try Tensor(shape: [1], values: [12]))).sum())
                .backward()
        }
        try fill()
        XCTAssertEqual(try clipGradNorm([a, b], maxNorm: 1, normType: 2), 13, accuracy: 1e-9)
        XCTAssertEqual(a.grad!.values[0], Float(3.0 / (13 + 1e-6)), accuracy: 1e-7)
        try fill()
        XCTAssertEqual(try clipGradNorm([a, b], maxNorm: 6, normType: .infinity), 12)
        XCTAssertEqual(b.grad!.values[0], Float(12 * 6 / (12 + 1e-6)), accuracy: 1e-5)
        try fill()
        XCTAssertEqual(try clipGradNorm([a, b], maxNorm: 100, normType: 1), 19, accuracy: 1e-9)
        XCTAssertEqual(a.grad!.values, [3, -4])  // below the limit: unchanged
        try fill()
        try clipGradValue([a, b], clipValue: 3.5)
        XCTAssertEqual(a.grad!.values + b.grad!.values, [3, -3.5, 3.5])
        XCTAssertThrowsError(try clipGradValue([a], clipValue: -1))
        XCTAssertThrowsError(try clipGradNorm([a], maxNorm: 1, normType: 0))
        let n = try Tensor(shape: [1], values: [0], requiresGrad: true)
        try (n * Float.nan).sum().backward()
        XCTAssertThrowsError(try clipGradNorm([n], maxNorm: 1, normType: 2, errorIfNonfinite: true))
    }
}
