import Foundation
import Kernels
import PagedKVCache

/// Where keys and values live between steps: the one flag that switches the model between the
/// paged cache, the contiguous baseline and no cache at all. The model code is the same in all.
public enum KVMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Fixed-size pages on demand, shared between sequences with a common prefix.
    case paged
    /// One buffer per sequence sized to the whole context, reserved when it is admitted (the
    /// baseline the paper compares against): the paged layout with one page per sequence.
    case contiguous
    /// No cache: every step recomputes each sequence from its first token.
    case none
}

/// The KV budget: a byte count or a token count.
public enum KVMemory: Sendable, Hashable {
    case bytes(Int)
    case tokens(Int)

    /// Token budgets at most: 2^28 tokens, so that tokens × bytes per token fits an `Int` for
    /// any model ``LlamaConfiguration`` accepts (at most 2^33 bytes per token).
    public static let maxTokenCount = 1 << 28
    /// Byte budgets at most (4 PiB).
    public static let maxByteCount = 1 << 52

    /// Parses `"512MiB"`, `"2GB"`, `"65536"` (bytes), or `"32768tokens"` / `"32k tokens"`; nil for
    /// anything else, for non-finite or fractional-overflowing numbers (`1e30tokens`, `infb`),
    /// and for budgets above ``maxTokenCount`` tokens or ``maxByteCount`` bytes.
    public init?(parsing text: String) {
        let t = text.lowercased().replacingOccurrences(of: " ", with: "")
        func number(_ s: Substring) -> Double? {
            if s.hasSuffix("k") { return Double(s.dropLast()).map { $0 * 1024 } }
            return Double(s)
        }
        /// `n` as a whole count in 1...limit (rounded down), or nil.
        func count(_ n: Double?, limit: Int) -> Int? {
            guard let n, n.isFinite, n >= 1, n <= Double(limit) else { return nil }
            return Int(n)
        }
        if t.hasSuffix("tokens") || t.hasSuffix("tok") {
            let digits = t.hasSuffix("tokens") ? t.dropLast(6) : t.dropLast(3)
            guard let n = count(number(digits), limit: Self.maxTokenCount) else { return nil }
            self = .tokens(n)
            return
        }
        let units: [(String, Double)] = [
            ("gib", 1_073_741_824), ("mib", 1_048_576), ("kib", 1024), ("gb", 1e9), ("mb", 1e6), ("kb", 1e3),
            ("g", 1_073_741_824), ("m", 1_048_576), ("b", 1),
        ]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let n = Double(t.dropLast(suffix.count)), n > 0,
                  let bytes = count(n * scale, limit: Self.maxByteCount) else { return nil }
            self = .bytes(bytes)
            return
        }
        guard let n = Int(t), n > 0, n <= Self.maxByteCount else { return nil }
        self = .bytes(n)
    }

    /// The budget in bytes for `bytesPerToken`, saturating at `Int.max` (for callers that build
    /// a ``KVMemory`` themselves, past the parser's bounds).
    public func byteCount(bytesPerToken: Int) -> Int {
        switch self {
        case .bytes(let b): return b
        case .tokens(let t):
            let (product, overflow) = t.multipliedReportingOverflow(by: bytesPerToken)
            return overflow ? .max : product
        }
    }
}

/// How an ``Engine`` runs.
public struct EngineConfiguration: Sendable, Hashable {
    public var kvMode: KVMode = .paged
    /// Tokens per page in paged mode (a power of two).
    public var tokensPerPage = 16
    public var kvElementType: KVElementType = .f32
    /// The KV memory budget; the default holds 32,768 tokens.
    public var kvMemory: KVMemory = .tokens(32768)
    /// Tokens computed per step at most (decodes plus prompt chunks).
    public var maxBatchTokens = 512
    public var maxRunningSequences = 64
    public var prefixCaching = true
    /// In paged mode, give back the sliding-window layers' pages that no future query of their
    /// sequence can see (Gemma 3: 15 of 18 layers hold a window's worth of KV, not the whole
    /// sequence). False keeps them (the same layout and arithmetic: the comparison baseline).
    /// Models without sliding windows have nothing to give back.
    public var releasesWindowPages = true
    /// fp32 activations (exact, the default) or 8-bit ones into the quantized matrix products
    /// (faster; on a CPU without AVX2 the fp32 path runs either way).
    public var activationPrecision: ActivationPrecision = .f32
    /// Greedy and top-k samples that ask for no log-probabilities read only the argmax (or the k
    /// largest) of their logits: the output product then computes in full only the rows that can
    /// be among them (``Kernels/ArgmaxShadow``; the same tokens, about two thirds of the output
    /// matrix's bytes). False computes every logit.
    public var argmaxShadow = true
    /// Time every forward pass stage by stage (``EngineUsage/forwardProfile``); off by default.
    public var profileForward = false
    /// Prompt tokens a step computes at most while streams decode (nil: the whole
    /// `maxBatchTokens`): a fixed prefill share, bounding the gap between two tokens.
    public var prefillTokensPerStep: Int?
    /// Seconds one step should take while streams decode: the prompt tokens beside the decodes
    /// are sized to it from the cost per token measured on the running engine (nil: off). Takes
    /// precedence over `prefillTokensPerStep` once the first step is measured.
    public var stepTimeTarget: Double?

    public init() {}
}
