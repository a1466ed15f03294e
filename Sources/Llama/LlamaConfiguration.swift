import GGUF
import Kernels

/// Why a model could not be loaded as a llama model.
public enum LlamaError: Error, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    /// A `llama.rope.scaling.type` PagedFlex does not compute (it would give wrong output).
    case unsupportedRopeScaling(String)
    case invalidConfiguration(String)
    case missingTensor(String)
    case tensorShape(name: String, expected: [Int], found: [Int])
    case unsupportedTensorType(name: String, type: String, expected: String)
    case file(GGUFError)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a): "unsupported architecture '\(a)' (PagedFlex runs 'llama' and 'gemma3' models)"
        case .unsupportedRopeScaling(let type):
            "unsupported rope scaling type '\(type)' (PagedFlex computes \(RopeScaling.supportedTypes.joined(separator: ", ")))"
        case .invalidConfiguration(let why): "invalid llama configuration: \(why)"
        case .missingTensor(let name): "the model has no tensor '\(name)'"
        case .tensorShape(let name, let expected, let found):
            "tensor '\(name)' has shape \(found), expected \(expected)"
        case .unsupportedTensorType(let name, let type, let expected):
            "tensor '\(name)' has type \(type), expected \(expected)"
        case .file(let e): e.description
        }
    }
}

/// What distinguishes one decoder architecture from another in this model stack: data the one
/// forward pass reads, not a second copy of it.
public struct ArchitectureTraits: Sendable, Equatable {
    public enum Activation: Sendable, Equatable {
        /// SwiGLU: `silu(gate) ⊙ up` (llama).
        case silu
        /// GeGLU with the tanh approximation of GELU (gemma).
        case geluTanh
    }

    /// `general.architecture`, which also prefixes the hyper-parameter keys (`llama.block_count`).
    public var name: String
    /// Token embeddings are multiplied by `√embeddingLength` (gemma).
    public var scalesEmbedding = false
    /// Each query and key head is RMS-normalized (`attn_q_norm`, `attn_k_norm`) before RoPE.
    public var normalizesQueryAndKey = false
    /// The attention output and the feed-forward output are RMS-normalized before the residual
    /// add (`post_attention_norm`, `post_ffw_norm`).
    public var hasPostNorms = false
    public var activation = Activation.silu
    public var ropeStyle = RotaryStyle.adjacentPairs
    /// Layers `l` with `l % n == n − 1` attend globally, the others through the sliding window
    /// (nil: every layer is global).
    public var globalLayerPeriod: Int?
    /// The RoPE base of the sliding-window layers (the global ones use `rope.freq_base`).
    public var localRopeBase: Double?

    public static let llama = ArchitectureTraits(name: "llama")

    /// Gemma 3: llama.cpp's `LLM_ARCH_GEMMA3` (every sixth layer global, local RoPE base 10,000,
    /// which the GGUF does not store).
    public static let gemma3 = ArchitectureTraits(
        name: "gemma3", scalesEmbedding: true, normalizesQueryAndKey: true, hasPostNorms: true, activation: .geluTanh,
        ropeStyle: .halves, globalLayerPeriod: 6, localRopeBase: 10_000)

    public static let all = [llama, gemma3]

    public init(
        name: String, scalesEmbedding: Bool = false, normalizesQueryAndKey: Bool = false, hasPostNorms: Bool = false,
        activation: Activation = .silu, ropeStyle: RotaryStyle = .adjacentPairs, globalLayerPeriod: Int? = nil,
        localRopeBase: Double? = nil
    ) {
        self.name = name
        self.scalesEmbedding = scalesEmbedding
        self.normalizesQueryAndKey = normalizesQueryAndKey
        self.hasPostNorms = hasPostNorms
        self.activation = activation
        self.ropeStyle = ropeStyle
        self.globalLayerPeriod = globalLayerPeriod
        self.localRopeBase = localRopeBase
    }
}

/// The hyper-parameters of a model, read from the `<architecture>.*` metadata and validated.
public struct LlamaConfiguration: Sendable, Equatable {
    public var layerCount: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headSize: Int
    public var rmsEpsilon: Float
    public var ropeBase: Double
    public var ropeDimensions: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var architecture: ArchitectureTraits
    /// Keys visible to a query in the sliding-window layers, itself included
    /// (`attention.sliding_window`); nil when the model has no such layers.
    public var slidingWindow: Int?
    /// `llama.rope.scaling.*` (set by ``init(gguf:)``; none otherwise).
    public var ropeScaling: RopeScaling = .none

    /// Bounds on the hyper-parameters a file may declare, far above any real llama model, so
    /// that no size computed from them (widths, KV bytes per token, token buffers) overflows.
    public static let maxContextLength = 1 << 24
    public static let maxLayerCount = 1 << 10
    public static let maxWidth = 1 << 20
    public static let maxHeadCount = 1 << 12
    public static let maxHeadSize = 1 << 12

    /// Query heads per KV head: query head `h` reads KV head `h / groupSize`.
    public var groupSize: Int { headCount / kvHeadCount }
    /// Width of one token's keys (or values): `kvHeadCount × headSize`.
    public var kvDimension: Int { kvHeadCount * headSize }
    /// Width of one token's queries: `headCount × headSize`.
    public var queryDimension: Int { headCount * headSize }

    /// The sliding window of layer `layer`, or nil when it attends to the whole sequence.
    public func slidingWindow(layer: Int) -> Int? {
        guard let slidingWindow, let period = architecture.globalLayerPeriod else { return nil }
        return layer % period == period - 1 ? nil : slidingWindow
    }

    /// The RoPE base of layer `layer`.
    public func ropeBase(layer: Int) -> Double {
        slidingWindow(layer: layer) != nil ? architecture.localRopeBase ?? ropeBase : ropeBase
    }

    /// The layers that attend to the whole sequence.
    public var globalLayers: [Int] { (0..<layerCount).filter { slidingWindow(layer: $0) == nil } }

    public init(
        layerCount: Int, embeddingLength: Int, feedForwardLength: Int, headCount: Int, kvHeadCount: Int,
        headSize: Int? = nil, rmsEpsilon: Float = 1e-5, ropeBase: Double = 10000, ropeDimensions: Int? = nil,
        contextLength: Int, vocabularySize: Int, architecture: ArchitectureTraits = .llama, slidingWindow: Int? = nil
    ) throws(LlamaError) {
        self.layerCount = layerCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headSize = headSize ?? (headCount > 0 ? embeddingLength / headCount : 0)
        self.rmsEpsilon = rmsEpsilon
        self.ropeBase = ropeBase
        self.ropeDimensions = ropeDimensions ?? self.headSize
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.architecture = architecture
        self.slidingWindow = slidingWindow
        try validate()
    }

    /// Reads `<architecture>.*` from a GGUF file (`llama` or `gemma3`); the vocabulary size comes
    /// from `token_embd.weight`.
    public init(gguf file: GGUFFile) throws(LlamaError) {
        do {
            let arch = try file.string("general.architecture")
            guard let traits = ArchitectureTraits.all.first(where: { $0.name == arch }) else {
                throw LlamaError.unsupportedArchitecture(arch)
            }
            let p = arch + "."
            func optionalInt(_ key: String) throws(GGUFError) -> Int? {
                file.metadata[key] == nil ? nil : try file.int(key)
            }
            let heads = try file.int(p + "attention.head_count")
            guard let embedding = file.tensor(named: "token_embd.weight") else {
                throw LlamaError.missingTensor("token_embd.weight")
            }
            try self.init(
                layerCount: try file.int(p + "block_count"),
                embeddingLength: try file.int(p + "embedding_length"),
                feedForwardLength: try file.int(p + "feed_forward_length"),
                headCount: heads,
                kvHeadCount: try optionalInt(p + "attention.head_count_kv") ?? heads,
                headSize: try optionalInt(p + "attention.key_length"),
                rmsEpsilon: try file.float(p + "attention.layer_norm_rms_epsilon"),
                ropeBase: file.metadata[p + "rope.freq_base"]?.double ?? 10000,
                ropeDimensions: try optionalInt(p + "rope.dimension_count"),
                contextLength: try file.int(p + "context_length"),
                vocabularySize: embedding.rowCount,
                architecture: traits,
                slidingWindow: traits.globalLayerPeriod == nil ? nil : try optionalInt(p + "attention.sliding_window"))
            ropeScaling = try RopeScaling(gguf: file, contextLength: contextLength)
        } catch let error as LlamaError {
            throw error
        } catch let error as GGUFError {
            throw .file(error)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
    }

    func validate() throws(LlamaError) {
        func check(_ ok: Bool, _ why: @autoclosure () -> String) throws(LlamaError) {
            if !ok { throw .invalidConfiguration(why()) }
        }
        // Bounds first: the checks after them multiply these.
        try check(layerCount > 0 && layerCount <= Self.maxLayerCount, "block_count must be in 1...\(Self.maxLayerCount), got \(layerCount)")
        try check(headCount > 0 && kvHeadCount > 0, "head counts must be positive (\(headCount), \(kvHeadCount))")
        try check(headCount <= Self.maxHeadCount && kvHeadCount <= Self.maxHeadCount,
                  "head counts (\(headCount), \(kvHeadCount)) exceed \(Self.maxHeadCount)")
        try check(headSize <= Self.maxHeadSize, "head size \(headSize) exceeds \(Self.maxHeadSize)")
        try check(embeddingLength <= Self.maxWidth && feedForwardLength <= Self.maxWidth && headCount * headSize <= Self.maxWidth,
                  "a layer width (embedding_length \(embeddingLength), feed_forward_length \(feedForwardLength), heads × head size \(headCount * headSize)) exceeds \(Self.maxWidth)")
        try check(contextLength <= Self.maxContextLength, "context_length \(contextLength) exceeds \(Self.maxContextLength) tokens")
        try check(vocabularySize <= Self.maxWidth * 16, "vocabulary of \(vocabularySize) tokens exceeds \(Self.maxWidth * 16)")
        try check(headCount % kvHeadCount == 0, "head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)")
        try check(headSize > 0 && headSize % 8 == 0, "head size \(headSize) must be a positive multiple of 8")
        try check(embeddingLength > 0 && embeddingLength % 32 == 0, "embedding_length \(embeddingLength) must be a positive multiple of 32")
        try check(feedForwardLength > 0 && feedForwardLength % 32 == 0, "feed_forward_length \(feedForwardLength) must be a positive multiple of 32")
        try check((headCount * headSize) % 32 == 0, "head_count × head size must be a multiple of 32")
        try check(ropeDimensions > 0 && ropeDimensions % 2 == 0 && ropeDimensions <= headSize,
                  "rope dimension_count \(ropeDimensions) must be even and at most the head size \(headSize)")
        try check(rmsEpsilon > 0 && rmsEpsilon < 1, "layer_norm_rms_epsilon \(rmsEpsilon) is out of range")
        try check(ropeBase > 1 && ropeBase.isFinite, "rope freq_base \(ropeBase) must exceed 1")
        try check(contextLength > 0, "context_length must be positive, got \(contextLength)")
        try check(vocabularySize > 0, "vocabulary is empty")
        if let slidingWindow { try check(slidingWindow > 0, "attention.sliding_window must be positive, got \(slidingWindow)") }
    }
}
