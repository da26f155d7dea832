/// An ordered list of named numbers: the values of one log entry or evaluation.
public struct Metrics: Sendable, Equatable, Sequence {
    public private(set) var entries: [(name: String, value: Double)] = []

    public init() {}

    public init(_ entries: [(String, Double)]) {
        self.entries = entries.map { (name: $0.0, value: $0.1) }
    }

    /// The value named `name`; setting replaces it in place or appends it.
    public subscript(name: String) -> Double? {
        get { entries.first { $0.name == name }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.name == name }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((name, newValue))
            }
        }
    }

    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: Double)]> {
        entries.makeIterator()
    }

    public static func == (a: Metrics, b: Metrics) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.name == $1.name && $0.value.bitPattern == $1.value.bitPattern }
    }
}
