import PublicHeader
import SwiftTrain

// The training arguments by their HF names, in one crossing each way: what a language face
// uses so that it never holds the field list, the defaults or the parsing rules itself.

@c @implementation
public func st_training_args_update(_ args: UnsafeMutablePointer<st_training_args>?,
                                    _ names: UnsafePointer<UnsafePointer<CChar>?>?,
                                    _ values: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int) -> st_status {
    status {
        let fn = "st_training_args_update"
        let c = try required(args, fn, "args")
        var updated = try TrainingArguments(c.pointee)
        if count > 0 {
            let names = try required(names, fn, "names"), values = try required(values, fn, "values")
            for i in 0..<count {
                let name = String(cString: try required(names[i], fn, "names[\(i)]"))
                let value = String(cString: try required(values[i], fn, "values[\(i)] (\(name))"))
                try updated.set(name, value)
                _ = try updated.cStruct()  // each value checked as st_training_args_set does, not
                                           // only the last of a name given twice
            }
        }
        // Validated as the struct reads back (st_training_args_validate's view), so that _update
        // agrees with _set and _validate one by one (a value such as report_to " None" is
        // normalised on the way); stored only once every value was accepted.
        let result = try updated.cStruct()
        try TrainingArguments(result).validate()
        c.pointee = result
    }
}

@c @implementation
public func st_training_args_json(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                                  _ length: UnsafeMutablePointer<Int>?, _ args: UnsafePointer<st_training_args>?) -> st_status {
    status {
        let fn = "st_training_args_json"
        let a = try TrainingArguments(try required(args, fn, "args").pointee)
        try giveText(Array(a.json.serialized().utf8), buffer, capacity, length, fn)
    }
}

@c @implementation
public func st_training_args_fields(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                                    _ length: UnsafeMutablePointer<Int>?) -> st_status {
    status {
        let fields = TrainingArguments.fields.map { f -> JSONValue in
            .object([("name", .string(f.name)), ("category", .string(f.category.rawValue)), ("kind", .string(f.kind.rawValue)),
                     ("optional", .bool(f.optional)), ("default", f.defaultValue), ("note", .string(f.note)),
                     ("hf", .bool(f.isHF))])
        }
        try giveText(Array(JSONValue.array(fields).serialized().utf8), buffer, capacity, length, "st_training_args_fields")
    }
}
