import Foundation
import GGUF
import Kernels

/// How a model stretches its rotary embedding past the context it was trained on, read from
/// `llama.rope.scaling.*` (and `rope_freqs.weight`) as llama.cpp reads them for llama models.
/// A scaling PagedFlex cannot compute exactly is refused by name, never ignored.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (llama.cpp's `freq_scale = 1 / factor`).
    case linear(factor: Double)
    case yarn(YaRN)

    /// YaRN, as ggml's `rope_yarn` computes it: each pair's angle mixes the interpolated
    /// (`θ / factor`) and the extrapolated (`θ`) angle by a ramp over the pair index between the
    /// correction dimensions of `betaFast` and `betaSlow`, and every cosine and sine is scaled by
    /// `attentionFactor · (1 + 0.1 · ln factor)`.
    public struct YaRN: Sendable, Equatable {
        public var factor: Double
        public var originalContextLength: Int
        public var extrapolationFactor: Double = 1
        public var attentionFactor: Double = 1
        public var betaFast: Double = 32
        public var betaSlow: Double = 1

        public init(factor: Double, originalContextLength: Int) {
            self.factor = factor
            self.originalContextLength = originalContextLength
        }
    }

    /// The names llama.cpp gives scaling types (`llama.rope.scaling.type`).
    static let supportedTypes = ["none", "linear", "yarn"]

    /// Reads the scaling of a `llama` file. As llama.cpp: the type defaults to linear, a factor
    /// of 0 (or none) means no scaling, `rope.scale_linear` is the old spelling of the factor,
    /// and YaRN's original context defaults to the context length.
    init(gguf file: GGUFFile, contextLength: Int) throws(LlamaError) {
        let prefix = "llama.rope.scaling."
        /// The first of `keys` the file has, as a finite number.
        func number(_ keys: String...) throws(LlamaError) -> Double? {
            guard let key = keys.first(where: { file.metadata[$0] != nil }) else { return nil }
            guard let v = file.metadata[key]?.double, v.isFinite else { throw .invalidConfiguration("'\(key)' is not a finite number") }
            return v
        }
        let type: String
        if let raw = file.metadata[prefix + "type"] {
            guard let name = raw.string else { throw .invalidConfiguration("'\(prefix)type' is not a string") }
            type = name
        } else {
            type = "linear"
        }
        guard Self.supportedTypes.contains(type) else { throw .unsupportedRopeScaling(type) }
        let factor = try number(prefix + "factor", "llama.rope.scale_linear") ?? 0
        guard factor >= 0 else { throw .invalidConfiguration("rope scaling factor \(factor) is negative") }
        if type == "none" || factor == 0 || (type == "linear" && factor == 1) {
            self = .none
            return
        }
        if type == "linear" {
            self = .linear(factor: factor)
            return
        }
        var original = contextLength
        if let raw = file.metadata[prefix + "original_context_length"] {
            guard let n = raw.int, n > 0, n <= LlamaConfiguration.maxContextLength else {
                throw .invalidConfiguration("'\(prefix)original_context_length' must be an integer in 1...\(LlamaConfiguration.maxContextLength)")
            }
            original = n
        }
        var yarn = YaRN(factor: factor, originalContextLength: original)
        yarn.extrapolationFactor = try number(prefix + "yarn_ext_factor") ?? 1
        yarn.attentionFactor = try number(prefix + "yarn_attn_factor", prefix + "attn_factor") ?? 1
        yarn.betaFast = try number(prefix + "yarn_beta_fast") ?? 32
        yarn.betaSlow = try number(prefix + "yarn_beta_slow") ?? 1
        guard yarn.extrapolationFactor >= 0, yarn.attentionFactor > 0, yarn.betaFast > 0, yarn.betaSlow > 0 else {
            throw .invalidConfiguration("YaRN parameters out of range: \(yarn)")
        }
        self = .yarn(yarn)
    }

    /// The rotary embedding of a model: `base^(−2i/d)` divided by the per-pair frequency
    /// factors (llama3's `rope_freqs.weight`, when the file has them), then this scaling.
    public func rotaryEmbedding(
        headSize: Int, rotaryDimensions d: Int, base: Double, frequencyFactors: [Float]? = nil,
        style: RotaryStyle = .adjacentPairs
    ) -> RotaryEmbedding {
        var frequencies = RotaryEmbedding.baseFrequencies(rotaryDimensions: d, base: base)
        if let frequencyFactors {
            for i in frequencies.indices { frequencies[i] /= Double(frequencyFactors[i]) }
        }
        var magnitude = 1.0
        switch self {
        case .none: break
        case .linear(let factor):
            for i in frequencies.indices { frequencies[i] /= factor }
        case .yarn(let y):
            let scale = 1 / y.factor
            let (low, high) = Self.correctionDimensions(
                rotaryDimensions: d, originalContextLength: y.originalContextLength, base: base,
                betaFast: y.betaFast, betaSlow: y.betaSlow)
            for i in frequencies.indices {
                let ramp = 1 - min(1, max(0, (Double(i) - low) / max(0.001, high - low)))
                let mix = ramp * y.extrapolationFactor
                frequencies[i] *= scale * (1 - mix) + mix
            }
            magnitude = y.attentionFactor * (y.extrapolationFactor != 0 ? 1 + 0.1 * Foundation.log(y.factor) : 1)
        }
        return RotaryEmbedding(headSize: headSize, rotaryDimensions: d, frequencies: frequencies, magnitude: magnitude, style: style)
    }

    /// ggml's `ggml_rope_yarn_corr_dims`: the pair indices where a rotation completes `betaFast`
    /// and `betaSlow` turns over the original context, floored and ceiled, clamped to the pairs.
    static func correctionDimensions(
        rotaryDimensions d: Int, originalContextLength: Int, base: Double, betaFast: Double, betaSlow: Double
    ) -> (Double, Double) {
        func dimension(_ rotations: Double) -> Double {
            Double(d) * Foundation.log(Double(originalContextLength) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(base))
        }
        let start = Foundation.floor(dimension(betaFast)), end = Foundation.ceil(dimension(betaSlow))
        return (max(0, start), min(Double(d - 1), end))
    }
}
