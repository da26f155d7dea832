import Synchronization

/// Components of a config by their `"type"` (AllenNLP's Registrable): layers and data
/// sources. The built-in types are torch's names in snake case; register more from Swift with
/// `registerLayer` / `registerData` (a builder reads its keys from the object and returns the
/// component; unknown keys are refused after it ran). A host (C, Python) adds layer and
/// callback types with `registerHostLayer` / `registerHostCallback`: one process-wide registry,
/// behind a lock, whose built-in types cannot be replaced.
public enum ConfigRegistry {
    /// Builds a layer from its config object (the "type" key already read).
    public typealias LayerBuilder = @Sendable (inout ConfigObject) throws -> Module
    /// Builds a data source from its config object.
    public typealias DataBuilder = @Sendable (inout ConfigObject) throws -> DataSource
    /// Builds a callback of "callbacks" (the training arguments it sets, what it registers).
    public typealias CallbackBuilder = @Sendable (inout ConfigObject) throws -> ConfigCallback

    private struct Tables: ~Copyable {
        var layers: [(String, LayerBuilder, [String])] = ConfigRegistry.builtInLayers
        var data: [(String, DataBuilder, [String])] = [
            ("csv", { o in try CSVData.read(&o) }, CSVData.keys), ("digits", { o in try CSVData.digits(&o) }, CSVData.digitsKeys),
            ("npy", { o in try ArrayData.npy(&o) }, ArrayData.npyKeys),
            ("npz", { o in try ArrayData.npz(&o) }, ArrayData.archiveKeys),
            ("safetensors", { o in try ArrayData.safetensors(&o) }, ArrayData.archiveKeys),
        ]
        var callbacks: [(String, CallbackBuilder, [String])] = BuiltInConfigCallbacks.all
        /// The types a host registered (registerHostLayer, registerHostCallback).
        var hostLayers: Set<String> = [], hostCallbacks: Set<String> = []
    }
    static let builtInLayerTypes = Set(builtInLayers.map(\.0)), builtInCallbackTypes = Set(BuiltInConfigCallbacks.all.map(\.0))
    private static let tables = Mutex(Tables())

    /// Adds (or replaces) a layer type; `keys` are the keys its builder reads.
    public static func registerLayer(_ type: String, keys: [String], _ build: @escaping LayerBuilder) {
        tables.withLock { t in
            t.layers.removeAll { $0.0 == type }
            t.layers.append((type, build, keys))
        }
    }

    /// Adds (or replaces) a data type.
    public static func registerData(_ type: String, keys: [String], _ build: @escaping DataBuilder) {
        tables.withLock { t in
            t.data.removeAll { $0.0 == type }
            t.data.append((type, build, keys))
        }
    }

    /// Adds (or replaces) a callback type of "callbacks".
    public static func registerCallback(_ type: String, keys: [String], _ build: @escaping CallbackBuilder) {
        tables.withLock { t in
            t.callbacks.removeAll { $0.0 == type }
            t.callbacks.append((type, build, keys))
        }
    }

    /// Builds a host's layer from the JSON text of its config object's arguments (every key
    /// but "type"); an error is reported at the object's key path.
    public typealias HostLayerFactory = @Sendable (String) throws -> Module
    /// Registers a host's callbacks on the trainer from the JSON text of the entry's arguments.
    public typealias HostCallbackFactory = @Sendable (String, Trainer) throws -> Void

    /// Adds a layer (model) type of a host. Refused, naming the type, when the name is empty, a
    /// built-in type's or registered already (unregister it first).
    public static func registerHostLayer(_ type: String, _ make: @escaping HostLayerFactory) throws {
        try tables.withLock { t in
            try checkNew(type, what: "model", builtIn: builtInLayerTypes, taken: t.layers.map(\.0))
            t.layers.append((type, { o in try make(o.arguments().serialized(indent: 0)) }, []))
            t.hostLayers.insert(type)
        }
    }

    /// Adds a callback type of a host (an entry of "callbacks"), refused as registerHostLayer's.
    public static func registerHostCallback(_ type: String, _ install: @escaping HostCallbackFactory) throws {
        try tables.withLock { t in
            try checkNew(type, what: "callback", builtIn: builtInCallbackTypes, taken: t.callbacks.map(\.0))
            t.callbacks.append((type, { o in
                let arguments = o.arguments().serialized(indent: 0)
                return ConfigCallback { trainer in try install(arguments, trainer) }
            }, []))
            t.hostCallbacks.insert(type)
        }
    }

    /// Removes a layer type a host registered: `.notFound` when there is none, `.invalidArgument`
    /// for a built-in type or one registered from Swift.
    public static func unregisterHostLayer(_ type: String) throws {
        try tables.withLock { t in
            try checkHost(type, what: "model", builtIn: builtInLayerTypes, host: t.hostLayers, all: t.layers.map(\.0))
            t.layers.removeAll { $0.0 == type }
            t.hostLayers.remove(type)
        }
    }

    /// Removes a callback type a host registered, as unregisterHostLayer.
    public static func unregisterHostCallback(_ type: String) throws {
        try tables.withLock { t in
            try checkHost(type, what: "callback", builtIn: builtInCallbackTypes, host: t.hostCallbacks,
                          all: t.callbacks.map(\.0))
            t.callbacks.removeAll { $0.0 == type }
            t.hostCallbacks.remove(type)
        }
    }

    private static func checkNew(_ type: String, what: String, builtIn: Set<String>, taken: [String]) throws {
        guard !type.isEmpty else { throw SwiftTrainError.invalid("the \(what) type's name is empty") }
        guard !builtIn.contains(type) else {
            throw SwiftTrainError.invalid("\"\(type)\" is a built-in \(what) type, which cannot be replaced; choose another name")
        }
        guard !taken.contains(type) else {
            throw SwiftTrainError.invalid("the \(what) type \"\(type)\" is registered already; unregister it first")
        }
    }

    private static func checkHost(_ type: String, what: String, builtIn: Set<String>, host: Set<String>,
                                  all: [String]) throws {
        guard !builtIn.contains(type) else {
            throw SwiftTrainError.invalid("\"\(type)\" is a built-in \(what) type, which cannot be removed")
        }
        guard host.contains(type) else {
            throw all.contains(type)
                ? SwiftTrainError.invalid("the \(what) type \"\(type)\" was registered from Swift, not from C or Python")
                : SwiftTrainError(.notFound, "no \(what) type \"\(type)\" is registered; registered from C or Python: "
                    + (host.isEmpty ? "none" : host.sorted().joined(separator: ", ")))
        }
    }

    public static var layerTypes: [String] { tables.withLock { $0.layers.map(\.0) } }
    public static var dataTypes: [String] { tables.withLock { $0.data.map(\.0) } }
    public static var callbackTypes: [String] { tables.withLock { $0.callbacks.map(\.0) } }

    /// The callback `value` describes ({"type": "early_stopping", ...}) at `path`.
    public static func callback(_ value: JSONValue, path: String) throws -> ConfigCallback {
        let entries = tables.withLock { $0.callbacks.map { ($0.0, $0.1, $0.2) } }
        return try build(value, path: path, entries, what: "callback")
    }

    /// The layer `value` describes ({"type": "linear", ...}) at `path`.
    public static func layer(_ value: JSONValue, path: String) throws -> Module {
        let entries = tables.withLock { $0.layers.map { ($0.0, $0.1, $0.2) } }
        return try build(value, path: path, entries, what: "layer")
    }

    /// The data source `value` describes at `path`.
    public static func data(_ value: JSONValue, path: String) throws -> DataSource {
        let entries = tables.withLock { $0.data.map { ($0.0, $0.1, $0.2) } }
        return try build(value, path: path, entries, what: "data")
    }

    private static func build<T>(_ value: JSONValue, path: String, _ entries: [(String, @Sendable (inout ConfigObject) throws -> T, [String])],
                                 what: String) throws -> T {
        var object = try ConfigObject(value, path: path)
        let type = try object.string("type")
        guard let (_, builder, keys) = entries.first(where: { $0.0 == type }) else {
            throw ConfigObject.error(object.path("type"), "unknown \(what) type \"\(type)\"; known: \(entries.map(\.0).joined(separator: ", "))")
        }
        let built: T
        do { built = try builder(&object) } catch let error as SwiftTrainError where !error.message.hasPrefix("config:") {
            throw ConfigObject.error(object.path, error.message)  // a component's own check, at its key path
        }
        try object.finish(accepted: ["type"] + keys)
        return built
    }

    // MARK: - Built-in layers (torch's names and arguments)

    private static let builtInLayers: [(String, LayerBuilder, [String])] = [
        ("sequential", { o in
            let layers = try o.array("layers")
            return try Sequential(try layers.enumerated().map { try ConfigRegistry.layer($1, path: o.path("layers") + "[\($0)]") })
        }, ["layers"]),
        ("linear", { o in
            let (i, n) = (try o.int("in_features"), try o.int("out_features"))
            try ConfigRegistry.checkSize(o.path, [i, n])
            return try Linear(i, n, bias: try o.bool("bias", LayerDefaults.linear.bias))
        }, ["in_features", "out_features", "bias"]),
        ("conv2d", { o in
            let d = LayerDefaults.conv2d
            let (i, n, k) = (try o.int("in_channels"), try o.int("out_channels"), try o.pair("kernel_size"))
            let (stride, padding) = (try o.pair("stride", (d.stride, d.stride)), try o.pair("padding", (d.padding, d.padding)))
            try ConfigRegistry.checkSize(o.path, [i, n, k.0, k.1])
            guard [stride.0, stride.1].allSatisfy({ (1...4096).contains($0) }), [padding.0, padding.1].allSatisfy({ (0...4096).contains($0) }) else {
                throw ConfigObject.error(o.path, "stride must be in [1, 4096] and padding in [0, 4096], got \(stride) and \(padding)")
            }
            return try Conv2d(i, n, kernelSize: k, stride: stride, padding: padding, bias: try o.bool("bias", d.bias))
        }, ["in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"]),
        ("max_pool2d", { o in
            let kernel = try o.pair("kernel_size"), stride = try o.pair("stride", kernel)
            guard [kernel.0, kernel.1, stride.0, stride.1].allSatisfy({ (1...4096).contains($0) }) else {
                throw ConfigObject.error(o.path, "kernel_size and stride must be in [1, 4096], got \(kernel) and \(stride)")
            }
            return MaxPool2d(kernelSize: kernel, stride: stride)
        }, ["kernel_size", "stride"]),
        ("flatten", { o in
            Flatten(startDim: try o.int("start_dim", LayerDefaults.flatten.startDim), endDim: try o.int("end_dim", LayerDefaults.flatten.endDim))
        }, ["start_dim", "end_dim"]),
        ("dropout", { o in try Dropout(p: Float(try o.double("p", Double(LayerDefaults.dropout.p)))) }, ["p"]),
        ("relu", { _ in ReLU() }, []),
        ("gelu", { o in try GELU(approximate: try o.string("approximate", LayerDefaults.gelu.approximateTanh ? "tanh" : "none")) }, ["approximate"]),
        ("tanh", { _ in Tanh() }, []),
        ("sigmoid", { _ in Sigmoid() }, []),
        ("silu", { _ in SiLU() }, []),
        ("embedding", { o in try SequenceLayers.embedding(&o) }, SequenceLayers.embeddingKeys),
        ("transformer_encoder_layer", { o in try SequenceLayers.transformerEncoderLayer(&o) }, SequenceLayers.transformerKeys),
    ]

    /// A layer of a config holds at most 2^28 weights (1 GiB): a config is input, and a typo
    /// should not make the host allocate without bound.
    static func checkSize(_ path: String, _ dims: [Int]) throws {
        guard dims.allSatisfy({ (1...(1 << 28)).contains($0) }),
              dims.reduce(1.0, { $0 * Double($1) }) <= Double(1 << 28) else {
            throw ConfigObject.error(path, "sizes \(dims) must be positive with at most 2^28 weights in the layer")
        }
    }
}
