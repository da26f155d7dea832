import Foundation
import XCTest
@testable import SwiftTrain

/// The table of HF's TrainingArguments fields (Arguments/HFArgumentFields.swift) against HF's own
/// list (Tests/fixtures/hf_training_args.json, from tools/hf_training_args_fields.py), and how
/// `set` treats each category.
final class ArgumentFieldsTests: XCTestCase {
    static func fixture() throws -> JSONValue {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/hf_training_args.json")
        return try JSONValue.parse(Array(try Data(contentsOf: url)))
    }

    func testTheTableHoldsEveryHFFieldInHFsOrderWithHFsDefault() throws {
        let hf = try XCTUnwrap(try Self.fixture()["fields"]?.arrayValue)
        let ours = TrainingArguments.fields.filter(\.isHF)
        XCTAssertEqual(ours.map(\.name), hf.map { $0["name"]!.stringValue! })
        for (field, entry) in zip(ours, hf) {
            let expected = entry["default"]!
            if let d = expected.doubleValue, let mine = field.defaultValue.doubleValue {
                XCTAssertEqual(mine, d, field.name)
            } else {
                XCTAssertEqual(field.defaultValue, expected, field.name)
            }
            XCTAssertEqual(field.optional, entry["type"]!.stringValue!.contains("None"), field.name)
        }
        XCTAssertTrue(TrainingArguments.fields.filter { !$0.isHF }.allSatisfy { !$0.isKept && $0.category == .honoured })
    }

    func testEveryFieldTakesItsDefaultAndJSONHoldsTheLibrarysValues() throws {
        let fresh = TrainingArguments()
        let json = try XCTUnwrap(fresh.json.objectValue)
        XCTAssertEqual(json.map(\.0), TrainingArguments.fields.map(\.name))
        for field in TrainingArguments.fields {
            var args = TrainingArguments()
            try args.set(field.name, json: field.defaultValue)  // HF's default is accepted, fp16=False too
            if field.name != "output_dir" && field.name != "optim" {
                XCTAssertEqual(args, fresh, field.name)
            }
            if field.isHF && !["output_dir", "label_names"].contains(field.name) {  // HF's None resolved
                let value = json.first { $0.0 == field.name }!.1
                XCTAssertEqual(value.doubleValue ?? -7, field.defaultValue.doubleValue ?? -7, field.name)
                if value.doubleValue == nil { XCTAssertEqual(value, field.defaultValue, field.name) }
            }
        }
    }

    func testRefusedFieldsSayWhyAtAnyOtherValue() throws {
        var args = TrainingArguments()
        XCTAssertThrowsError(try args.set("fp16", "true")) {
            XCTAssertEqual(($0 as! SwiftTrainError).message, "fp16=true: swifttrain trains in float32 on the CPU; remove it")
        }
        for field in TrainingArguments.fields where field.category == .refused {
            let other: String
            switch field.kind {
            case .bool: other = field.defaultValue == .bool(true) ? "false" : "true"
            case .int, .float, .number: other = "3"
            case .list: other = "inputs"
            case .dict: other = #"{"a": 1}"#
            case .str: other = "something"
            }
            XCTAssertThrowsError(try args.set(field.name, other), field.name) {
                XCTAssertTrue(($0 as! SwiftTrainError).message.hasPrefix("\(field.name)"), "\($0)")
            }
            XCTAssertFalse(field.note.isEmpty, field.name)
        }
        try args.set("include_num_input_tokens_seen", "false")  // HF's bool spelling of "no"
        XCTAssertEqual(args, TrainingArguments())
    }

    func testKeptFieldsRoundTripAndAreCheckedByType() throws {
        var args = TrainingArguments()
        try args.set("run_name", "baseline")
        try args.set("dataloader_num_workers", "4")
        try args.set("do_eval", "true")
        try args.set("log_level", "info")
        XCTAssertEqual(args.kept("run_name"), .string("baseline"))
        XCTAssertEqual(args.kept("dataloader_pin_memory"), .bool(true))  // HF's default
        XCTAssertEqual(args.keptFields.count, 4)
        var again = TrainingArguments()
        for (name, value) in args.json.objectValue! { try again.set(name, json: value) }
        XCTAssertEqual(again, args)
        try args.set("run_name", "None")  // back to HF's default: nothing kept
        XCTAssertNil(args.keptFields["run_name"])
        XCTAssertThrowsError(try args.set("dataloader_num_workers", "four")) {
            XCTAssertEqual(($0 as! SwiftTrainError).message, "dataloader_num_workers: 'four' is not an integer")
        }
        XCTAssertThrowsError(try args.set("log_level", "loud")) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("choose one of: detail, debug"), "\($0)")
        }
    }

    func testUnknownNamesGetTheNearestName() throws {
        var args = TrainingArguments()
        for (typo, meant) in [("learnin_rate", "learning_rate"), ("num_train_epoch", "num_train_epochs"),
                              ("evaluation_strategi", "evaluation_strategy"), ("fp61", "fp16")] {
            XCTAssertThrowsError(try args.set(typo, "1")) {
                XCTAssertEqual(($0 as! SwiftTrainError).message, "unknown training argument '\(typo)'; did you mean '\(meant)'?")
            }
        }
        XCTAssertThrowsError(try args.set("frobnicate_the_model", "1")) {
            XCTAssertTrue(($0 as! SwiftTrainError).message.contains("not a field of HF's TrainingArguments"), "\($0)")
        }
        XCTAssertEqual(TrainingArguments.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(TrainingArguments.editDistance("", "abc"), 3)
    }

    func testTrainingArgsJSONHoldsOnlyWhatHFLoads() throws {
        let fixture = try Self.fixture()
        let names = Set(fixture["fields"]!.arrayValue!.map { $0["name"]!.stringValue! })
        let choices = fixture["choices"]!
        var args = TrainingArguments()
        try args.set("optim", "sgd")
        try args.set("report_to", "all")
        try args.set("lr_scheduler_kwargs", #"{"num_cycles": 2}"#)
        try args.set("lr_scheduler_type", "cosine")
        XCTAssertEqual(args.lrSchedulerKwargs, "num_cycles=2")
        let hf = try XCTUnwrap(args.hfJSON.objectValue)
        XCTAssertTrue(hf.allSatisfy { names.contains($0.0) })
        XCTAssertEqual(args.hfJSON["lr_scheduler_kwargs"], .object([("num_cycles", .int(2))]))
        for key in ["optim", "lr_scheduler_type", "save_strategy", "eval_strategy", "logging_strategy"] {
            XCTAssertTrue(choices[key]!.arrayValue!.contains(args.hfJSON[key]!), key)
        }
        XCTAssertEqual(TrainingArguments().hfJSON["optim"], .string("adamw_torch_fused"))  // HF's default name
        // a value HF has no name for goes to swifttrain_args.json, with the additions
        try args.set("optim", "adam")
        XCTAssertNil(args.hfJSON["optim"])
        XCTAssertEqual(args.additionsJSON["optim"], .string("adam"))
        XCTAssertEqual(args.additionsJSON["ema_decay"], .double(0))
    }
}
