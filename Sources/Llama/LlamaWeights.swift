import GGUF
import Kernels

/// The read-only weights of a llama model: views into the memory-mapped GGUF file (no copy; the
/// quantized matrices are read by the matmul kernels as they are stored).
public struct LlamaWeights: @unchecked Sendable {
    // @unchecked: every pointer points into `file`'s read-only mapping, which this value keeps
    // alive; nothing writes through them.
    public struct Layer: @unchecked Sendable {  // @unchecked: read-only views into the mapping
        public let attentionNorm: UnsafePointer<Float>
        public let query: WeightMatrix
        public let key: WeightMatrix
        public let value: WeightMatrix
        public let output: WeightMatrix
        public let feedForwardNorm: UnsafePointer<Float>
        public let gate: WeightMatrix
        public let up: WeightMatrix
        public let down: WeightMatrix
        /// Per-head RMSNorm weights of queries and keys (`headSize` each), when the architecture has them.
        public let queryNorm: UnsafePointer<Float>?
        public let keyNorm: UnsafePointer<Float>?
        /// RMSNorm weights of the attention and feed-forward outputs, when the architecture has them.
        public let postAttentionNorm: UnsafePointer<Float>?
        public let postFeedForwardNorm: UnsafePointer<Float>?
    }

    public let file: GGUFFile
    public let tokenEmbedding: WeightMatrix
    public let outputNorm: UnsafePointer<Float>
    /// `output.weight`, or the token embedding when the model ties them.
    public internal(set) var output: WeightMatrix
    public internal(set) var layers: [Layer]
    /// `rope_freqs.weight`: llama3-style per-pair divisors of the rotary frequencies, if any.
    public let ropeFrequencyFactors: [Float]?

    public init(file: GGUFFile, configuration c: LlamaConfiguration) throws(LlamaError) {
        self.file = file
        func matrix(_ name: String, rows: Int, columns: Int) throws(LlamaError) -> WeightMatrix {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.dimensions == [columns, rows] else {
                throw .tensorShape(name: name, expected: [columns, rows], found: t.dimensions)
            }
            guard let type = WeightType(t.type) else {
                throw .unsupportedTensorType(name: name, type: t.type.name, expected: "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K")
            }
            guard columns % type.elementsPerGroup == 0 else {
                throw .tensorShape(name: name, expected: [columns / type.elementsPerGroup * type.elementsPerGroup, rows], found: t.dimensions)
            }
            return WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: file.data(of: t).baseAddress!)
        }
        func vector(_ name: String, count: Int) throws(LlamaError) -> UnsafePointer<Float> {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.dimensions == [count] else { throw .tensorShape(name: name, expected: [count], found: t.dimensions) }
            guard t.type == .f32 else { throw .unsupportedTensorType(name: name, type: t.type.name, expected: "F32") }
            return file.data(of: t).baseAddress!.assumingMemoryBound(to: Float.self)
        }
        let d = c.embeddingLength
        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, columns: d)
        outputNorm = try vector("output_norm.weight", count: d)
        output = file.tensor(named: "output.weight") == nil
            ? tokenEmbedding : try matrix("output.weight", rows: c.vocabularySize, columns: d)
        let a = c.architecture
        func vector(_ name: String, count: Int, if present: Bool) throws(LlamaError) -> UnsafePointer<Float>? {
            present ? try vector(name, count: count) : nil
        }
        var layers: [Layer] = []
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            layers.append(Layer(
                attentionNorm: try vector(p + "attn_norm.weight", count: d),
                query: try matrix(p + "attn_q.weight", rows: c.queryDimension, columns: d),
                key: try matrix(p + "attn_k.weight", rows: c.kvDimension, columns: d),
                value: try matrix(p + "attn_v.weight", rows: c.kvDimension, columns: d),
                output: try matrix(p + "attn_output.weight", rows: d, columns: c.queryDimension),
                feedForwardNorm: try vector(p + "ffn_norm.weight", count: d),
                gate: try matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: d),
                up: try matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: d),
                down: try matrix(p + "ffn_down.weight", rows: d, columns: c.feedForwardLength),
                queryNorm: try vector(p + "attn_q_norm.weight", count: c.headSize, if: a.normalizesQueryAndKey),
                keyNorm: try vector(p + "attn_k_norm.weight", count: c.headSize, if: a.normalizesQueryAndKey),
                postAttentionNorm: try vector(p + "post_attention_norm.weight", count: d, if: a.hasPostNorms),
                postFeedForwardNorm: try vector(p + "post_ffw_norm.weight", count: d, if: a.hasPostNorms)))
        }
        self.layers = layers
        if file.tensor(named: "rope_freqs.weight") != nil {
            let pairs = c.ropeDimensions / 2
            let factors = Array(UnsafeBufferPointer(start: try vector("rope_freqs.weight", count: pairs), count: pairs))
            guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw .invalidConfiguration("rope_freqs.weight holds a factor that is not a positive finite number")
            }
            ropeFrequencyFactors = factors
        } else {
            ropeFrequencyFactors = nil
        }
    }
}

extension LlamaWeights {
    /// These weights with their Q4_1, Q8_0 and Q5_0 matrices interleaved for the 8-bit path
    /// (``InterleavedWeights``), and the copies, which must outlive the weights returned. A fused
    /// group (q|k|v, gate|up) is interleaved only when each of its matrices has whole groups of
    /// 8 rows, so a share of its parallel loop always starts on one.
    func interleavedForEightBit() -> (weights: LlamaWeights, copies: [InterleavedWeights]) {
        var copies: [InterleavedWeights] = []
        func group(_ matrices: [WeightMatrix]) -> [WeightMatrix] {
            guard matrices.allSatisfy({ $0.rowCount % 8 == 0 }) else { return matrices }
            return matrices.map { w in
                guard let copy = InterleavedWeights(w) else { return w }
                copies.append(copy)
                // The 8-bit path reads the copy; the original's pages need not stay resident
                // (read back from the file if the fp32 path or an embedding lookup wants them).
                if let start = file.mapping.base {
                    let offset = w.base - start
                    file.mapping.releaseResidentPages(offset..<offset + w.byteCount)
                }
                return copy.matrix(w)
            }
        }
        var result = self
        result.layers = layers.map { l in
            let qkv = group([l.query, l.key, l.value]), gateUp = group([l.gate, l.up])
            let output = group([l.output])[0], down = group([l.down])[0]
            return Layer(
                attentionNorm: l.attentionNorm, query: qkv[0], key: qkv[1], value: qkv[2], output: output,
                feedForwardNorm: l.feedForwardNorm, gate: gateUp[0], up: gateUp[1], down: down, queryNorm: l.queryNorm,
                keyNorm: l.keyNorm, postAttentionNorm: l.postAttentionNorm, postFeedForwardNorm: l.postFeedForwardNorm)
        }
        result.output = group([output])[0]
        return (result, copies)
    }
}

extension WeightType {
    /// The kernel encoding of a GGUF tensor type, nil for types without kernels.
    public init?(_ type: GGMLType) {
        switch type {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        case .q5_0: self = .q5_0
        case .q5_1: self = .q5_1
        case .q4_K: self = .q4_K
        case .q5_K: self = .q5_K
        case .q6_K: self = .q6_K
        default: return nil
        }
    }
}
