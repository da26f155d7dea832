import Foundation
import XCTest
@testable import SwiftTrain

/// The built-in evaluation metrics against scikit-learn (Tests/fixtures/sklearn/metrics.json,
/// written by Tests/fixtures/sklearn/make_metric_fixtures.py).
final class EvaluationMetricsTests: XCTestCase {
    func testMetricsMatchScikitLearn() throws {
        let url = TorchFixtures.directory.deletingLastPathComponent().appendingPathComponent("sklearn/metrics.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let cases = root["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 4)
        func doubles(_ any: Any?) -> [Double] { (any as! [Any]).map { ($0 as! NSNumber).doubleValue } }
        func value(_ c: [String: Any], _ key: String) -> Double { (c[key] as! NSNumber).doubleValue }
        for c in cases {
            let name = c["name"] as! String
            if c["kind"] as! String == "classification" {
                let classes = (c["classes"] as! NSNumber).intValue
                let logits = doubles(c["logits"]).map(Float.init), labels = doubles(c["labels"]).map(Int64.init)
                var m = ClassificationMetrics(classes: classes, topK: 3)
                // in two batches, as evaluation adds them
                let half = labels.count / 2
                logits.withUnsafeBufferPointer { l in
                    labels.withUnsafeBufferPointer { y in
                        m.add(logits: l.baseAddress!, rows: half, labels: y.baseAddress!)
                        m.add(logits: l.baseAddress! + half * classes, rows: labels.count - half, labels: y.baseAddress! + half)
                    }
                }
                XCTAssertEqual(m.accuracy, value(c, "accuracy"), accuracy: 1e-12, name)
                XCTAssertEqual(m.topKAccuracy, value(c, "top_3_accuracy"), accuracy: 1e-12, name)
                XCTAssertEqual(m.precisionMacro, value(c, "precision_macro"), accuracy: 1e-12, name)
                XCTAssertEqual(m.recallMacro, value(c, "recall_macro"), accuracy: 1e-12, name)
                XCTAssertEqual(m.f1Macro, value(c, "f1_macro"), accuracy: 1e-12, name)
            } else {
                let width = (c["width"] as! NSNumber).intValue
                let p = doubles(c["predictions"]).map(Float.init), t = doubles(c["targets"]).map(Float.init)
                var m = RegressionMetrics(width: width)
                p.withUnsafeBufferPointer { pp in
                    t.withUnsafeBufferPointer { tt in m.add(predictions: pp.baseAddress!, targets: tt.baseAddress!, rows: t.count / width) }
                }
                XCTAssertEqual(m.mse, value(c, "mse"), accuracy: 1e-6 * value(c, "mse"), name)
                XCTAssertEqual(m.mae, value(c, "mae"), accuracy: 1e-6 * value(c, "mae"), name)
                XCTAssertEqual(m.r2, value(c, "r2"), accuracy: 1e-6, name)
            }
        }
    }
}
