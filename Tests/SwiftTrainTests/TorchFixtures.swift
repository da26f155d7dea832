import Foundation
import XCTest
@testable import SwiftTrain

/// Reads Tests/fixtures/torch/*.json (written by Tests/fixtures/torch/make_torch_fixtures.py; see its
/// README) and compares swifttrain with PyTorch's float64 results.
enum TorchFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/torch")

    static func cases(_ group: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(group).json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return root["cases"] as! [[String: Any]]
    }

    /// A tensor from {"shape", "dtype", "values", "requires_grad"}.
    static func tensor(_ spec: [String: Any]) throws -> Tensor {
        let shape = (spec["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let values = spec["values"] as! [Any]
        switch spec["dtype"] as? String ?? "float32" {
        case "int64": return try Tensor(shape: shape, int64Values: values.map { ($0 as! NSNumber).int64Value })
        case "bool": return try Tensor(shape: shape, boolValues: values.map { ($0 as! NSNumber).boolValue })
        default:
            let t = try Tensor(shape: shape, values: values.map { ($0 as! NSNumber).floatValue })
            t.requiresGrad = spec["requires_grad"] as? Bool ?? false
            return t
        }
    }

    /// |actual - expected| <= tol + tol * |expected| for every element, as numpy.allclose.
    static func assertClose(_ actual: Tensor, _ expected: [String: Any], tolerance: Double, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        let shape = (expected["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        XCTAssertEqual(actual.shape, shape, "\(what): shape", file: file, line: line)
        guard actual.shape == shape else { return }
        let values = (expected["values"] as! [Any]).map { ($0 as! NSNumber).doubleValue }
        if let dtype = expected["dtype"] as? String, dtype != "float32" {
            XCTAssertEqual(actual.values.map(Double.init), values, "\(what): values", file: file, line: line)
            return
        }
        let got = actual.values
        var worst = 0.0, at = 0
        for (i, e) in values.enumerated() {
            let excess = abs(Double(got[i]) - e) - (tolerance + tolerance * abs(e))
            if excess > worst || (got[i].isNaN != e.isNaN) { worst = Swift.max(excess, 1); at = i }
        }
        XCTAssertEqual(worst, 0, "\(what): element \(at) is \(got[at]), expected \(values[at]) (tolerance \(tolerance))",
                       file: file, line: line)
    }

    static func ints(_ any: Any?) -> [Int]? {
        if let n = any as? NSNumber { return [n.intValue] }
        return (any as? [Any])?.map { ($0 as! NSNumber).intValue }
    }

    static func pair(_ any: Any?, _ fallback: (Int, Int)) -> (Int, Int) {
        guard let v = ints(any) else { return fallback }
        return v.count == 1 ? (v[0], v[0]) : (v[0], v[1])
    }

    /// Backpropagates sum(output_i * upstream_i) and compares the gradients of the inputs
    /// that require them.
    static func checkGradients(outputs: [Tensor], upstreams: [[String: Any]], inputs: [Tensor], expected: [Any],
                               tolerance: Double, name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard inputs.contains(where: \.requiresGrad) else { return }
        var total: Tensor?
        for (out, up) in zip(outputs, upstreams) where out.requiresGrad {
            let term = try (try out * (try tensor(up))).sum()
            total = try total.map { try $0 + term } ?? term
        }
        guard let total else {
            XCTFail("\(name): no output requires gradients", file: file, line: line)
            return
        }
        try total.backward()
        for (i, (input, grad)) in zip(inputs, expected).enumerated() {
            guard let grad = grad as? [String: Any], input.requiresGrad else { continue }
            guard let g = input.grad else {
                let zero = (grad["values"] as! [Any]).allSatisfy { ($0 as! NSNumber).doubleValue == 0 }
                XCTAssertTrue(zero, "\(name): input \(i) got no gradient", file: file, line: line)
                continue
            }
            assertClose(g, grad, tolerance: tolerance, "\(name): gradient of input \(i)", file: file, line: line)
        }
    }
}
