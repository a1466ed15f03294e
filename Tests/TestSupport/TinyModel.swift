import Foundation
import GGUF
import Llama

/// A tiny random llama or gemma3 model written as GGUF, with a naive double-precision forward
/// pass over the same (decoded) weights: the reference the engine's forward pass must agree with.
///
/// The gemma3 shape follows shared/reference/gemma3/README.md's graph: embeddings scaled by
/// √n_embd, per-head q/k RMSNorm, NEOX RoPE with base 10,000 on the sliding-window layers and
/// `ropeBase` on every sixth (global) layer, GELU-tanh, post-norms, head size ≠ n_embd/n_head, and
/// K-quant weights where rows allow (Q4_K attention output, Q6_K feed-forward down, Q5_0 others).
public struct TinyModel {
    public struct Shape: Sendable, CustomStringConvertible {
        public var layers = 2
        public var embedding = 64
        public var feedForward = 96
        public var heads = 4
        public var kvHeads = 2
        public var vocabulary = 80
        public var context = 256
        public var ropeBase = 10000.0
        public var tiedOutput = true
        /// gemma3 instead of llama.
        public var gemma = false
        /// The head size when it is not `embedding / heads` (gemma3's key_length).
        public var explicitHeadSize: Int?
        /// gemma3's sliding window (keys a query sees, itself included).
        public var slidingWindow = 4
        /// Written as `llama.rope.scaling.*` (YaRN's optional parameters are written when they
        /// differ from llama.cpp's defaults).
        public var ropeScaling: RopeScaling = .none
        /// Written as `rope_freqs.weight` (llama3), one per rotated pair.
        public var ropeFrequencyFactors: [Float]?
        public init(heads: Int = 4, kvHeads: Int = 2, embedding: Int = 64, tiedOutput: Bool = true) {
            self.heads = heads
            self.kvHeads = kvHeads
            self.embedding = embedding
            self.tiedOutput = tiedOutput
        }

        /// A gemma3-shaped model: 6 layers (the last global), `heads` query heads of 128 over one
        /// KV head, feed-forward 256, so attention output and down projection are K-quant rows.
        public static func gemma3(heads: Int = 2, kvHeads: Int = 1, slidingWindow: Int = 4) -> Shape {
            var s = Shape(heads: heads, kvHeads: kvHeads, embedding: 64)
            s.gemma = true
            s.layers = 6
            s.feedForward = 256
            s.explicitHeadSize = 128
            s.slidingWindow = slidingWindow
            s.ropeBase = 1_000_000
            return s
        }

        public var headSize: Int { explicitHeadSize ?? embedding / heads }
        public var architecture: String { gemma ? "gemma3" : "llama" }
        /// gemma3: every sixth layer is global, the others see `slidingWindow` keys.
        public func window(layer: Int) -> Int? { gemma && layer % 6 != 5 ? slidingWindow : nil }
        public var description: String { "\(architecture) \(heads)q/\(kvHeads)kv×\(headSize)" }
    }

    public let shape: Shape
    public let weightType: GGMLType
    /// Decoded weights by tensor name, row-major `[rows][columns]`.
    public private(set) var decoded: [String: [Float]] = [:]
    public private(set) var writer = GGUFWriter()

    public init(shape: Shape, weightType: GGMLType, seed: UInt64) {
        self.shape = shape
        self.weightType = weightType
        var rng = SeededRandom(seed: seed)
        let s = shape
        let a = s.architecture
        writer.add("general.architecture", .string(a))
        writer.add("\(a).block_count", .uint32(UInt32(s.layers)))
        writer.add("\(a).embedding_length", .uint32(UInt32(s.embedding)))
        writer.add("\(a).feed_forward_length", .uint32(UInt32(s.feedForward)))
        writer.add("\(a).attention.head_count", .uint32(UInt32(s.heads)))
        writer.add("\(a).attention.head_count_kv", .uint32(UInt32(s.kvHeads)))
        writer.add("\(a).attention.layer_norm_rms_epsilon", .float32(s.gemma ? 1e-6 : 1e-5))
        writer.add("\(a).rope.freq_base", .float32(Float(s.ropeBase)))
        writer.add("\(a).context_length", .uint32(UInt32(s.context)))
        if s.gemma {
            writer.add("gemma3.attention.key_length", .uint32(UInt32(s.headSize)))
            writer.add("gemma3.attention.value_length", .uint32(UInt32(s.headSize)))
            writer.add("gemma3.attention.sliding_window", .uint32(UInt32(s.slidingWindow)))
        }
        switch s.ropeScaling {
        case .none: break
        case .linear(let factor):
            writer.add("llama.rope.scaling.type", .string("linear"))
            writer.add("llama.rope.scaling.factor", .float32(Float(factor)))
        case .yarn(let y):
            writer.add("llama.rope.scaling.type", .string("yarn"))
            writer.add("llama.rope.scaling.factor", .float32(Float(y.factor)))
            writer.add("llama.rope.scaling.original_context_length", .uint32(UInt32(y.originalContextLength)))
            if y.attentionFactor != 1 { writer.add("llama.rope.scaling.attn_factor", .float32(Float(y.attentionFactor))) }
            if y.betaFast != 32 { writer.add("llama.rope.scaling.yarn_beta_fast", .float32(Float(y.betaFast))) }
        }
        if let factors = s.ropeFrequencyFactors {
            writer.add(tensor: "rope_freqs.weight", dimensions: [factors.count], type: .f32, values: factors)
        }

        func matrix(_ name: String, rows: Int, columns: Int, type: GGMLType, scale: Float) {
            let values = (0..<rows * columns).map { _ in rng.nextFloat(in: -scale...scale) }
            writer.add(tensor: name, dimensions: [columns, rows], type: type, values: values)
            let bytes = writer.tensors.last!.data
            decoded[name] = bytes.withUnsafeBytes { Quantize.decode($0, count: values.count, type: type) }
        }
        func norm(_ name: String, count: Int) {
            let values = (0..<count).map { _ in rng.nextFloat(in: 0.5...1.5) }
            writer.add(tensor: name, dimensions: [count], type: .f32, values: values)
            decoded[name] = values
        }
        let d = s.embedding, kvd = s.kvHeads * s.headSize, qd = s.heads * s.headSize
        // A K-quant type for rows that are whole 256-element super-blocks, else Q5_0 (as in
        // Gemma's file: rows of 640 cannot be K-quants).
        func type(columns: Int) -> GGMLType {
            guard weightType.blockSize == 256 else { return weightType }
            return columns % 256 == 0 ? weightType : .q5_0
        }
        matrix("token_embd.weight", rows: s.vocabulary, columns: d,
               type: weightType == .q4_1 || weightType.blockSize == 256 ? .q8_0 : weightType, scale: s.gemma ? 0.3 : 1)
        norm("output_norm.weight", count: d)
        if !s.tiedOutput { matrix("output.weight", rows: s.vocabulary, columns: d, type: type(columns: d), scale: 0.5) }
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            norm(p + "attn_norm.weight", count: d)
            matrix(p + "attn_q.weight", rows: qd, columns: d, type: type(columns: d), scale: 0.4)
            matrix(p + "attn_k.weight", rows: kvd, columns: d, type: type(columns: d), scale: 0.4)
            matrix(p + "attn_v.weight", rows: kvd, columns: d, type: type(columns: d), scale: 0.4)
            matrix(p + "attn_output.weight", rows: d, columns: qd, type: type(columns: qd), scale: 0.3)
            norm(p + "ffn_norm.weight", count: d)
            matrix(p + "ffn_gate.weight", rows: s.feedForward, columns: d, type: type(columns: d), scale: 0.3)
            matrix(p + "ffn_up.weight", rows: s.feedForward, columns: d, type: type(columns: d), scale: 0.3)
            matrix(p + "ffn_down.weight", rows: d, columns: s.feedForward, type: type(columns: s.feedForward), scale: 0.3)
            if s.gemma {
                norm(p + "attn_q_norm.weight", count: s.headSize)
                norm(p + "attn_k_norm.weight", count: s.headSize)
                norm(p + "post_attention_norm.weight", count: d)
                norm(p + "post_ffw_norm.weight", count: d)
            }
        }
    }

    /// Writes the model to a temporary file and returns its path.
    public func write() throws -> String {
        try writer.write(named: "tiny-\(shape.architecture)-\(shape.heads)-\(shape.kvHeads)-\(weightType.name)")
    }

    /// Logits of every position of `tokens` (`[position][vocabulary]`), computed in double
    /// precision: llama with full causal attention and llama.cpp's NORM rotary embedding; gemma3
    /// as its reference README writes the graph.
    public func referenceLogits(_ tokens: [Int32]) -> [[Double]] {
        let s = shape, d = s.embedding, hs = s.headSize, n = tokens.count
        let group = s.heads / s.kvHeads
        func w(_ name: String) -> [Double] { decoded[name]!.map(Double.init) }
        func matvec(_ m: [Double], _ x: [Double], rows: Int) -> [Double] {
            let cols = x.count
            return (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + m[r * cols + $1] * x[$1] } }
        }
        func rmsNorm(_ x: [Double], _ g: [Double]) -> [Double] {
            let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
            let inv = 1 / (ms + Double(Float(s.gemma ? 1e-6 : 1e-5))).squareRoot()
            return zip(x, g).map { $0 * inv * $1 }
        }
        // The angle of pair i at a position, straight from the definitions: llama3 factors
        // divide the frequency; linear scaling divides the position; YaRN blends the divided
        // (interpolated) and undivided (extrapolated) angle by a ramp between its correction
        // dimensions, and scales the rotation's magnitude.
        func angle(_ position: Int, _ i: Int, _ base: Double) -> (theta: Double, magnitude: Double) {
            let extrapolated = Double(position) * pow(base, -Double(2 * i) / Double(hs))
                / Double(s.ropeFrequencyFactors?[i] ?? 1)
            switch s.ropeScaling {
            case .none: return (extrapolated, 1)
            case .linear(let factor): return (extrapolated / factor, 1)
            case .yarn(let y):
                func turnsDimension(_ turns: Double) -> Double {
                    // The pair whose wavelength fits `turns` times into the original context.
                    Double(hs) * log(Double(y.originalContextLength) / (turns * 2 * .pi)) / (2 * log(base))
                }
                let low = max(0, turnsDimension(y.betaFast).rounded(.down))
                let high = min(Double(hs - 1), turnsDimension(y.betaSlow).rounded(.up))
                let ramp = 1 - min(1, max(0, (Double(i) - low) / max(0.001, high - low)))
                let mix = ramp * y.extrapolationFactor
                let interpolated = extrapolated / y.factor
                return (interpolated * (1 - mix) + extrapolated * mix, y.attentionFactor * (1 + 0.1 * log(y.factor)))
            }
        }
        // llama: adjacent pairs (2i, 2i+1); gemma3: halves (i, i + hs/2).
        func rope(_ v: inout [Double], heads: Int, position: Int, base: Double) {
            for h in 0..<heads {
                for i in 0..<hs / 2 {
                    let (theta, m) = angle(position, i, base)
                    let (j0, j1) = s.gemma ? (h * hs + i, h * hs + i + hs / 2) : (h * hs + 2 * i, h * hs + 2 * i + 1)
                    let a = v[j0], b = v[j1]
                    v[j0] = a * m * cos(theta) - b * m * sin(theta)
                    v[j1] = a * m * sin(theta) + b * m * cos(theta)
                }
            }
        }
        func headNorm(_ v: [Double], heads: Int, _ g: [Double]) -> [Double] {
            (0..<heads).flatMap { rmsNorm(Array(v[$0 * hs..<($0 + 1) * hs]), g) }
        }
        func gelu(_ x: Double) -> Double { 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) }
        let qd = s.heads * hs
        let embedding = w("token_embd.weight")
        let embeddingScale = s.gemma ? Double(d).squareRoot() : 1
        var x = tokens.map { Array(embedding[Int($0) * d..<(Int($0) + 1) * d]).map { $0 * embeddingScale } }
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            let window = s.window(layer: l)
            let base = window != nil ? 10_000 : s.ropeBase
            let h = x.map { rmsNorm($0, w(p + "attn_norm.weight")) }
            var q = h.map { matvec(w(p + "attn_q.weight"), $0, rows: qd) }
            var k = h.map { matvec(w(p + "attn_k.weight"), $0, rows: s.kvHeads * hs) }
            let v = h.map { matvec(w(p + "attn_v.weight"), $0, rows: s.kvHeads * hs) }
            if s.gemma {
                q = q.map { headNorm($0, heads: s.heads, w(p + "attn_q_norm.weight")) }
                k = k.map { headNorm($0, heads: s.kvHeads, w(p + "attn_k_norm.weight")) }
            }
            for t in 0..<n {
                rope(&q[t], heads: s.heads, position: t, base: s.gemma ? base : s.ropeBase)
                rope(&k[t], heads: s.kvHeads, position: t, base: s.gemma ? base : s.ropeBase)
            }
            var attn = [[Double]](repeating: [Double](repeating: 0, count: qd), count: n)
            for t in 0..<n {
                // Keys j with t − j < window (all j ≤ t when global).
                let first = window.map { max(0, t - $0 + 1) } ?? 0
                for head in 0..<s.heads {
                    let kvh = head / group
                    let scores = (first...t).map { j in
                        (0..<hs).reduce(0.0) { $0 + q[t][head * hs + $1] * k[j][kvh * hs + $1] } / Double(hs).squareRoot()
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for i in 0..<hs {
                        attn[t][head * hs + i] = (first...t).reduce(0.0) { $0 + e[$1 - first] * v[$1][kvh * hs + i] } / z
                    }
                }
            }
            for t in 0..<n {
                var o = matvec(w(p + "attn_output.weight"), attn[t], rows: d)
                if s.gemma { o = rmsNorm(o, w(p + "post_attention_norm.weight")) }
                for i in 0..<d { x[t][i] += o[i] }
                let hh = rmsNorm(x[t], w(p + "ffn_norm.weight"))
                let g = matvec(w(p + "ffn_gate.weight"), hh, rows: s.feedForward)
                let u = matvec(w(p + "ffn_up.weight"), hh, rows: s.feedForward)
                let a = zip(g, u).map { s.gemma ? gelu($0) * $1 : $0 / (1 + exp(-$0)) * $1 }
                var down = matvec(w(p + "ffn_down.weight"), a, rows: d)
                if s.gemma { down = rmsNorm(down, w(p + "post_ffw_norm.weight")) }
                for i in 0..<d { x[t][i] += down[i] }
            }
        }
        let out = w(s.tiedOutput ? "token_embd.weight" : "output.weight")
        return x.map { matvec(out, rmsNorm($0, w("output_norm.weight")), rows: s.vocabulary) }
    }
}
