/// Element types. Values match the C API's `st_dtype`.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit float: values, parameters, gradients.
    case float32 = 0
    /// 64-bit integer: indices and class labels.
    case int64 = 1
    /// Boolean: masks and comparison results.
    case bool = 2

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32: 4
        case .int64: 8
        case .bool: 1
        }
    }

    /// Every (name, dtype), the names as torch's and numpy's ("float32", "int64", "bool"); the
    /// C API's st_enum_from_name / st_enum_names ("dtype") read this table.
    public static let names: [(String, DType)] = allCases.map { ($0.description, $0) }

    public var description: String {
        switch self {
        case .float32: "float32"
        case .int64: "int64"
        case .bool: "bool"
        }
    }
}
