import XCTest
import Glibc
@testable import SwiftTrain

/// The core's progress bar (issue 14): plain lines in files, a bar that fits the terminal.
final class ProgressBarTests: XCTestCase {
    private let mlp = """
        {"model": {"type": "sequential", "layers": [{"type": "linear", "in_features": 64, "out_features": 10}]},
         "train_data": {"type": "csv", "path": "\(ConfigTests.root)/data/digits/train.csv", "feature_scale": 0.0625},
         "validation_data": {"type": "csv", "path": "\(ConfigTests.root)/data/digits/test.csv", "feature_scale": 0.0625},
         "trainer": {"max_steps": 40, "save_strategy": "no", "eval_strategy": "steps", "eval_steps": 20,
                     "per_device_eval_batch_size": 100, "report_to": ["none"], "logging_strategy": "no"}}
        """

    /// Trains with a bar writing to a file (or as a terminal of `width` columns); the bytes written.
    private func output(terminal: Bool = false, width: Int? = nil) throws -> String {
        let path = try CheckpointResumeTests.temporaryDirectory() + "/progress.txt"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let e = try Experiment(text: mlp)
        let bar = try ProgressBar(fd: fd, terminal: terminal, width: width)
        e.trainer.addCallback(ProgressBar.events, priority: ProgressBar.priority, bar.callback)
        try e.trainer.train()
        return String(decoding: try Files.read(path), as: UTF8.self)
    }

    func testAFileGetsPlainPeriodicLinesAndAFinalOne() throws {
        let text = try output()
        XCTAssertFalse(text.contains("\r"), text)
        XCTAssertFalse(text.contains("\u{1B}"), text)
        let lines = text.split(separator: "\n").map(String.init)
        let train = lines.filter { $0.hasPrefix("train ") }, eval = lines.filter { $0.hasPrefix("eval ") }
        // a line per tenth of the 40 steps (4, 8, ..., 36) and the final one at 40
        XCTAssertEqual(train.map { $0.split(separator: " ").dropFirst(2).first! }, (1...10).map { "\($0 * 4)/40" }, text)
        XCTAssertTrue(train.last!.hasPrefix("train 100% 40/40 ["), text)
        XCTAssertTrue(train.last!.contains("it/s, loss="), text)
        // an evaluation line at steps 20 and 40: the 359 test rows in batches of 100
        XCTAssertEqual(eval.count, 2, text)
        XCTAssertTrue(eval.allSatisfy { $0.hasPrefix("eval 100% 4/4 [") }, text)
    }

    func testATerminalBarIsRedrawnInPlaceWithinItsWidth() throws {
        let text = try output(terminal: true, width: 90)
        let drawn = text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).map { $0.replacingEscapes() }
        XCTAssertTrue(text.hasSuffix("\n") && text.filter { $0 == "\n" }.count == 1, "one line, ended once: \(text.debugDescription)")
        XCTAssertTrue(drawn.allSatisfy { $0.count <= 89 }, drawn.debugDescription)
        XCTAssertTrue(drawn.contains { $0.hasPrefix("eval ") }, "an evaluation bar: \(drawn)")
        XCTAssertTrue(drawn.last!.hasPrefix("train 100%|"), drawn.last!)
        XCTAssertTrue(drawn.last!.hasSuffix("| 40/40 [" + drawn.last!.split(separator: "[").last!), drawn.last!)
    }

    func testTheLineShrinksToTheWidthAndNeverWraps() {
        let line = ProgressLine("train", count: 567, total: 1350, rate: 410.254, elapsed: 1.4, loss: 0.312449)
        XCTAssertEqual(line.render(width: nil), "train  42% 567/1350 [00:01<00:01, 410.25it/s, loss=0.3124]")
        let wide = line.render(width: 80)
        XCTAssertEqual(wide.count, 79)
        XCTAssertTrue(wide.hasPrefix("train  42%|███████▉ ") && wide.hasSuffix("| 567/1350 [00:01<00:01, 410.25it/s, loss=0.3124]"), wide)
        for width in 2...80 { XCTAssertLessThanOrEqual(line.render(width: width).count, width - 1, "width \(width)") }
        // too narrow for a bar: the text without it, then cut
        XCTAssertEqual(line.render(width: 60), "train  42% 567/1350 [00:01<00:01, 410.25it/s, loss=0.3124]")
        XCTAssertEqual(line.render(width: 20), "train  42% 567/1350")
        // unknown total and rate; an hour and more
        XCTAssertEqual(ProgressLine("eval", count: 3, total: 0, rate: 0, elapsed: 0).render(width: nil), "eval 3/? [00:00<?, ?it/s]")
        XCTAssertEqual(ProgressLine.clock(3725), "1:02:05")
        XCTAssertEqual(ProgressLine.fixed(2.004, 2), "2.00")
        XCTAssertEqual(ProgressLine.fixed(9.996, 2), "10.00")
        XCTAssertEqual(ProgressLine.fixed(-0.5, 1), "-0.5")
        XCTAssertEqual(ProgressLine.significant(1234.56), "1235")
        XCTAssertEqual(ProgressLine.significant(0.000123456), "0.0001235")
    }

    func testABadFileDescriptorIsRefused() {
        XCTAssertThrowsError(try ProgressBar(fd: -1)) { XCTAssertTrue("\($0)".contains("not an open file descriptor"), "\($0)") }
        XCTAssertThrowsError(try ProgressBar(fd: 9999))
    }

    func testAConfigCanTurnTheCommandLinesBarOff() throws {
        XCTAssertFalse(try Experiment(text: mlp).disableTqdm)
        let off = try Experiment(text: mlp, overrides: #"{"trainer": {"disable_tqdm": true}}"#)
        XCTAssertTrue(off.disableTqdm)
        XCTAssertTrue(off.resolvedConfig.serialized().contains("\"disable_tqdm\": true"))
        XCTAssertThrowsError(try Experiment(text: mlp, overrides: #"{"trainer": {"disable_tqdm": "yes"}}"#)) {
            XCTAssertTrue("\($0)".contains("trainer.disable_tqdm: expected true or false"), "\($0)")
        }
    }
}

private extension Substring {
    /// The text with "ESC [ K" (erase to the end of the line) removed.
    func replacingEscapes() -> String { String(self).split(separator: "\u{1B}[K", omittingEmptySubsequences: false).joined() }
}
