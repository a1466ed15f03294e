import GGUF
import Kernels
import Synchronization

/// A decoder of the llama family (llama, gemma3): configuration and weights, and the one forward
/// pass over a packed batch. What differs between architectures is data
/// (``ArchitectureTraits``): embedding scale, per-head q/k norms, post-norms, the gate's
/// activation, RoPE's pairing and bases, and which layers attend through a sliding window.
public final class LlamaModel: Sendable {
    public let configuration: LlamaConfiguration
    public let weights: LlamaWeights
    /// RoPE of the global layers (`rope.freq_base`), and of the sliding-window layers.
    public let rope: RotaryEmbedding
    public let localRope: RotaryEmbedding
    /// What the 8-bit path reads (``eightBitWeights``), made on its first use.
    private let eightBit = Mutex<(weights: LlamaWeights, copies: [InterleavedWeights])?>(nil)
    /// The output matrix's ``ArgmaxShadow`` (``outputShadow``), made on its first use.
    private let shadow = Mutex<ArgmaxShadow??>(nil)
    /// Whether a step of `tokens` logit rows is cheaper through the full output product than
    /// through the shadow, which computes `rowsPerToken` rows (its last step's count) of each
    /// token alone, with the one-token kernel: when they add up to more than 15 % of the rows,
    /// where the full 8-bit product of a few tokens already shares each weight block between
    /// them. Either way the same tokens: the choice is speed only.
    ///
    /// Zen 5, 2 threads, `bench batch --profile` output stage in ms a step, shadow vs full: SmolLM2
    /// q8 (2,248 rows a token) 0.60/0.77 at 1 sequence, 1.01/0.97 at 4, 1.46/1.07 at 8, 2.2-2.5/
    /// 1.3-1.5 at 16; Gemma 3 q8 (376 rows a token) 2.5/5.0 at 1 up to even at 16. The fp32 path
    /// (`rowsPerToken` nil) keeps the shadow: its full product is fp32 (SmolLM2 at 16: 3.0/6.8).
    static func fullProductIsCheaper(tokens: Int, rowsPerToken: Double?, rowCount: Int) -> Bool {
        guard let rowsPerToken else { return false }
        return Double(tokens) * rowsPerToken > 0.15 * Double(rowCount)
    }

    /// Tokens a step's gated activation splits across the threads from.
    static let parallelActivationTokens = 4

    public init(file: GGUFFile) throws(LlamaError) {
        configuration = try LlamaConfiguration(gguf: file)
        weights = try LlamaWeights(file: file, configuration: configuration)
        let c = configuration
        rope = c.ropeScaling.rotaryEmbedding(
            headSize: c.headSize, rotaryDimensions: c.ropeDimensions, base: c.ropeBase,
            frequencyFactors: weights.ropeFrequencyFactors, style: c.architecture.ropeStyle)
        // The sliding-window layers' RoPE: their own base, unscaled (llama.cpp's freq_base_swa).
        localRope = RotaryEmbedding(
            headSize: c.headSize, rotaryDimensions: c.ropeDimensions, base: c.architecture.localRopeBase ?? c.ropeBase,
            style: c.architecture.ropeStyle)
    }

    /// The weights of the 8-bit activation path: ``weights`` with the Q4_1, Q8_0 and Q5_0 matrices
    /// interleaved (``InterleavedWeights``: a copy of those matrices, 1.2×, 1.06× and 1.64× their bytes; the
    /// tied output matrix too, while the embedding lookups keep reading the original), made on the
    /// first call, so that a model only ever run in fp32 holds no copy. The same on the portable
    /// path, which has no 8-bit kernels.
    public var eightBitWeights: LlamaWeights {
        eightBit.withLock { made in
            if let made { return made.weights }
            let built = Matmul.usesAVX2 ? weights.interleavedForEightBit() : (weights: weights, copies: [])
            made = built
            return built.weights
        }
    }

    /// The 5-bit shadow of the output matrix that greedy and top-k steps read instead of all of it
    /// (``ArgmaxShadow``: 65 % of a Q8_0 matrix's bytes, 115 MB for Gemma 3's), made on the first
    /// call; nil where the machine runs the portable kernels.
    public var outputShadow: ArgmaxShadow? {
        shadow.withLock { made in
            if let made { return made }
            let built = ArgmaxShadow(weights.output)
            made = .some(built)
            return built
        }
    }

    /// Loads the model from a GGUF file at `path`.
    public convenience init(path: String) throws(LlamaError) {
        let file: GGUFFile
        do throws(GGUFError) {
            file = try GGUFFile(path: path)
        } catch {
            throw .file(error)
        }
        try self.init(file: file)
    }

    /// Runs one step: embeds `batch.tokens`, runs every layer (keys and values go to `kv`), and
    /// writes the logits of `batch.logitRows` into `logits` (`logitRows.count × vocabularySize`).
    ///
    /// Every matrix product covers all tokens of the batch at once (prefill is a matrix-matrix
    /// product, decode a matrix-vector one), and the final projection runs only for the rows
    /// whose logits are asked for.
    public func forward(_ batch: ForwardBatch, kv: some KVStore, state: LlamaState, logits: inout [Float]) {
        let c = configuration
        let n = batch.tokenCount
        precondition(n > 0, "empty batch")
        state.reserve(tokenCount: n, logitRowCount: batch.logitRows.count)
        let d = c.embeddingLength, kvd = c.kvDimension, qd = c.queryDimension, ff = c.feedForwardLength
        let x = state.x!, h = state.h!, q = state.q!, k = state.k!, v = state.v!, attn = state.attention!
        let gate = state.gate!, up = state.up!, cos = state.cos!, sin = state.sin!
        let weights = state.activationPrecision == .q8 ? eightBitWeights : self.weights

        // Opt-in stage timer (bench decode --profile): each lap charges the time since the last to a stage.
        let profiling = state.profile != nil
        var times = ForwardProfile.Steps()
        var mark = profiling ? ForwardProfile.now() : 0
        func lap(_ stage: ForwardProfile.Stage, _ weightBytes: @autoclosure () -> Int = 0) {
            guard profiling else { return }
            let t = ForwardProfile.now()
            times.add(stage, seconds: t - mark, weightBytes: weightBytes())
            mark = t
        }
        func bytes(_ weights: WeightMatrix...) -> Int { weights.reduce(0) { $0 + $1.rowCount * $1.bytesPerRow } }
        defer {
            if profiling {
                let decoding = batch.sequences.allSatisfy { $0.tokenRange.count == 1 }
                var steps = decoding ? state.profile!.decode : state.profile!.prefill
                for (stage, t) in times.stages {
                    steps.stages[stage, default: ForwardProfile.Totals()].seconds += t.seconds
                    steps.stages[stage, default: ForwardProfile.Totals()].weightBytes += t.weightBytes
                    steps.stages[stage, default: ForwardProfile.Totals()].calls += t.calls
                }
                steps.steps += 1
                steps.tokens += n
                steps.argmaxRows += times.argmaxRows
                if decoding { state.profile!.decode = steps } else { state.profile!.prefill = steps }
            }
        }

        let a = c.architecture
        let embeddingScale = Float(d).squareRoot()
        for t in 0..<n {
            weights.tokenEmbedding.dequantizeRow(Int(batch.tokens[t]), into: x + t * d)
            if a.scalesEmbedding { Elementwise.scale(x + t * d, by: embeddingScale, count: d) }
        }
        let half = c.ropeDimensions / 2
        let hasLocalRope = a.localRopeBase != nil && c.slidingWindow != nil
        for t in 0..<n {
            rope.angles(position: Int(batch.positions[t]), cos: cos + t * half, sin: sin + t * half)
            if hasLocalRope {
                localRope.angles(position: Int(batch.positions[t]), cos: state.localCos + t * half, sin: state.localSin + t * half)
            }
        }

        lap(.embedding)

        // The input of the next products, quantized once for all of them on the 8-bit path.
        let q8 = state.activationPrecision == .q8 ? state.q8 : nil
        func input(_ a: UnsafePointer<Float>, rows: Int, width: Int) {
            q8?.quantize(a, tokenCount: rows, columnCount: width)
            lap(.quantize)
        }
        func project(_ w: WeightMatrix, _ a: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
            if let q8, Matmul.supportsQ8(w) {
                Matmul.multiply(w, q8: q8, y: out)
            } else {
                Matmul.multiply(w, x: a, tokenCount: rows, y: out)
            }
        }
        /// `x += rmsNorm(h) ⊙ norm` (post-norm architectures) or `x += h`.
        func residual(_ postNorm: UnsafePointer<Float>?) {
            for t in 0..<n {
                if let postNorm {
                    Elementwise.rmsNorm(h + t * d, weight: postNorm, epsilon: c.rmsEpsilon, count: d, into: h + t * d)
                }
                Elementwise.add(h + t * d, into: x + t * d, count: d)
            }
        }

        for (l, layer) in weights.layers.enumerated() {
            for t in 0..<n {
                Elementwise.rmsNorm(x + t * d, weight: layer.attentionNorm, epsilon: c.rmsEpsilon, count: d, into: h + t * d)
            }
            lap(.attentionNorm)
            input(h, rows: n, width: d)
            kv.prefetch(layer: l, batch: batch)
            Matmul.multiply([MatmulTarget(layer.query, q), MatmulTarget(layer.key, k), MatmulTarget(layer.value, v)], x: h, q8: q8, tokenCount: n)
            lap(.qkv, bytes(layer.query, layer.key, layer.value))
            if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
                let hs = c.headSize
                for i in 0..<n * c.headCount { Elementwise.rmsNorm(q + i * hs, weight: queryNorm, epsilon: c.rmsEpsilon, count: hs, into: q + i * hs) }
                for i in 0..<n * c.kvHeadCount { Elementwise.rmsNorm(k + i * hs, weight: keyNorm, epsilon: c.rmsEpsilon, count: hs, into: k + i * hs) }
            }
            let window = c.slidingWindow(layer: l)
            let (r, layerCos, layerSin) = window != nil && hasLocalRope
                ? (localRope, UnsafePointer(state.localCos!), UnsafePointer(state.localSin!)) : (rope, UnsafePointer(cos), UnsafePointer(sin))
            for t in 0..<n {
                r.apply(q + t * qd, headCount: c.headCount, cos: layerCos + t * half, sin: layerSin + t * half)
                r.apply(k + t * kvd, headCount: c.kvHeadCount, cos: layerCos + t * half, sin: layerSin + t * half)
            }
            lap(.qkNormRope)
            kv.write(layer: l, keys: k, values: v, batch: batch)
            lap(.kvWrite)
            kv.attend(layer: l, slidingWindow: window, queries: q, output: attn, batch: batch)
            lap(.attention)
            input(attn, rows: n, width: qd)
            project(layer.output, attn, rows: n, into: h)
            lap(.attentionOutput, bytes(layer.output))
            residual(layer.postAttentionNorm)
            lap(.residual)

            for t in 0..<n {
                Elementwise.rmsNorm(x + t * d, weight: layer.feedForwardNorm, epsilon: c.rmsEpsilon, count: d, into: h + t * d)
            }
            lap(.feedForwardNorm)
            input(h, rows: n, width: d)
            Matmul.multiply([MatmulTarget(layer.gate, gate), MatmulTarget(layer.up, up)], x: h, q8: q8, tokenCount: n)
            lap(.gateUp, bytes(layer.gate, layer.up))
            // Element by element, so split by tokens across the threads once there are a few.
            ThreadPool.shared.parallelRanges(n, chunks: n >= Self.parallelActivationTokens ? nil : 1) { tokens in
                let offset = tokens.lowerBound * ff, count = tokens.count * ff
                switch a.activation {
                case .silu: Elementwise.siluMultiply(gate: gate + offset, up: up + offset, count: count)
                case .geluTanh: Elementwise.geluTanhMultiply(gate: gate + offset, up: up + offset, count: count)
                }
            }
            lap(.activation)
            input(gate, rows: n, width: ff)
            project(layer.down, gate, rows: n, into: h)
            lap(.down, bytes(layer.down))
            residual(layer.postFeedForwardNorm)
            lap(.residual)
        }

        let rows = batch.logitRows.count
        for (i, t) in batch.logitRows.enumerated() {
            Elementwise.rmsNorm(x + t * d, weight: weights.outputNorm, epsilon: c.rmsEpsilon, count: d, into: h + i * d)
        }
        let vocab = c.vocabularySize
        if logits.count != rows * vocab { logits = [Float](repeating: 0, count: rows * vocab) }
        lap(.outputNorm)
        input(h, rows: rows, width: d)
        let exactIsQ8 = q8 != nil && Matmul.supportsQ8(weights.output)
        if state.usesArgmaxShadow, batch.readsOnlyLargestLogits, let shadow = outputShadow,
            !Self.fullProductIsCheaper(tokens: rows, rowsPerToken: exactIsQ8 ? state.shadowRowsPerToken : nil,
                                       rowCount: weights.output.rowCount)
        {
            // Greedy and top-k rows: the shadow finds the rows that can be among the largest, and
            // only those are computed in full (q8: the 8-bit product's values; else the fp32
            // product's).
            if q8 == nil { state.q8.quantize(h, tokenCount: rows, columnCount: d) }
            let computed = logits.withUnsafeMutableBufferPointer { out in
                Matmul.multiplyForLargest(weights.output, shadow: shadow, x: h, q8: state.q8, exactIsQ8: exactIsQ8,
                                          largest: batch.largestLogits, y: out.baseAddress!)
            }
            if exactIsQ8 { state.shadowRowsPerToken = Double(computed) / Double(rows) }
            if profiling { times.argmaxRows += computed }
            lap(.output, shadow.byteCount + computed * weights.output.bytesPerRow)
        } else {
            logits.withUnsafeMutableBufferPointer { out in project(weights.output, h, rows: rows, into: out.baseAddress!) }
            lap(.output, bytes(weights.output))
        }
    }
}

/// The scratch activations of forward steps, reused from step to step (one per engine loop).
public final class LlamaState {
    public let configuration: LlamaConfiguration
    /// fp32 (the default, exact) or 8-bit activations into the quantized matrix products.
    public var activationPrecision: ActivationPrecision
    /// When set, every forward pass adds its stage times here (off by default: a clock read per stage).
    public var profile: ForwardProfile?
    /// Whether steps whose logits are read only for their largest (``ForwardBatch/largestLogits``:
    /// greedy and top-k samples) compute the output product through ``LlamaModel/outputShadow``
    /// (the same tokens; on by default). Off, every logit is computed.
    public var usesArgmaxShadow = true
    /// Rows a token the shadow computed in full in its last 8-bit step (nil before the first):
    /// what ``LlamaModel/fullProductIsCheaper(tokens:rowsPerToken:rowCount:)`` weighs.
    var shadowRowsPerToken: Double?
    let q8 = Q8Activations()
    public private(set) var tokenCapacity = 0
    private var storage: UnsafeMutablePointer<Float>?

    public private(set) var x: UnsafeMutablePointer<Float>!
    public private(set) var h: UnsafeMutablePointer<Float>!
    public private(set) var q: UnsafeMutablePointer<Float>!
    public private(set) var k: UnsafeMutablePointer<Float>!
    public private(set) var v: UnsafeMutablePointer<Float>!
    public private(set) var attention: UnsafeMutablePointer<Float>!
    public private(set) var gate: UnsafeMutablePointer<Float>!
    public private(set) var up: UnsafeMutablePointer<Float>!
    public private(set) var cos: UnsafeMutablePointer<Float>!
    public private(set) var sin: UnsafeMutablePointer<Float>!
    /// The angles of the sliding-window layers' RoPE base.
    public private(set) var localCos: UnsafeMutablePointer<Float>!
    public private(set) var localSin: UnsafeMutablePointer<Float>!

    public init(configuration: LlamaConfiguration, activationPrecision: ActivationPrecision = .f32) {
        self.configuration = configuration
        self.activationPrecision = activationPrecision
    }

    deinit { storage?.deallocate() }

    /// Makes room for a step of `tokenCount` tokens (and `logitRowCount` output rows).
    func reserve(tokenCount: Int, logitRowCount: Int) {
        let need = max(tokenCount, logitRowCount)
        guard need > tokenCapacity else { return }
        let capacity = max(need, 2 * tokenCapacity)
        let c = configuration
        let widths = [
            c.embeddingLength, c.embeddingLength, c.queryDimension, c.kvDimension, c.kvDimension,
            c.queryDimension, c.feedForwardLength, c.feedForwardLength, c.ropeDimensions / 2, c.ropeDimensions / 2,
            c.ropeDimensions / 2, c.ropeDimensions / 2,
        ]
        // Each buffer starts on a 64-byte boundary.
        let padded = widths.map { ($0 * capacity + 15) / 16 * 16 }
        storage?.deallocate()
        let base = UnsafeMutableRawPointer.allocate(byteCount: padded.reduce(0, +) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: padded.reduce(0, +))
        storage = base
        var offsets: [Int] = []
        var next = 0
        for p in padded {
            offsets.append(next)
            next += p
        }
        x = base + offsets[0]
        h = base + offsets[1]
        q = base + offsets[2]
        k = base + offsets[3]
        v = base + offsets[4]
        attention = base + offsets[5]
        gate = base + offsets[6]
        up = base + offsets[7]
        cos = base + offsets[8]
        sin = base + offsets[9]
        localCos = base + offsets[10]
        localSin = base + offsets[11]
        tokenCapacity = capacity
    }
}
