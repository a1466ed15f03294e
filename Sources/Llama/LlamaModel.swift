import GGUF
import Kernels

/// A llama decoder: configuration and weights, and the forward pass over a packed batch.
public final class LlamaModel: Sendable {
    public let configuration: LlamaConfiguration
    public let weights: LlamaWeights
    public let rope: RotaryEmbedding

    public init(file: GGUFFile) throws(LlamaError) {
        configuration = try LlamaConfiguration(gguf: file)
        weights = try LlamaWeights(file: file, configuration: configuration)
        rope = RotaryEmbedding(
            headSize: configuration.headSize, rotaryDimensions: configuration.ropeDimensions,
            base: configuration.ropeBase)
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

        for t in 0..<n { weights.tokenEmbedding.dequantizeRow(Int(batch.tokens[t]), into: x + t * d) }
        let half = c.ropeDimensions / 2
        for t in 0..<n {
            rope.angles(position: Int(batch.positions[t]), cos: cos + t * half, sin: sin + t * half)
        }

        for (l, layer) in weights.layers.enumerated() {
            for t in 0..<n {
                Elementwise.rmsNorm(x + t * d, weight: layer.attentionNorm, epsilon: c.rmsEpsilon, count: d, into: h + t * d)
            }
            Matmul.multiply(layer.query, x: h, tokenCount: n, y: q)
            Matmul.multiply(layer.key, x: h, tokenCount: n, y: k)
            Matmul.multiply(layer.value, x: h, tokenCount: n, y: v)
            for t in 0..<n {
                rope.apply(q + t * qd, headCount: c.headCount, cos: cos + t * half, sin: sin + t * half)
                rope.apply(k + t * kvd, headCount: c.kvHeadCount, cos: cos + t * half, sin: sin + t * half)
            }
            kv.write(layer: l, keys: k, values: v, batch: batch)
            kv.attend(layer: l, queries: q, output: attn, batch: batch)
            Matmul.multiply(layer.output, x: attn, tokenCount: n, y: h)
            for t in 0..<n { Elementwise.add(h + t * d, into: x + t * d, count: d) }

            for t in 0..<n {
                Elementwise.rmsNorm(x + t * d, weight: layer.feedForwardNorm, epsilon: c.rmsEpsilon, count: d, into: h + t * d)
            }
            Matmul.multiply(layer.gate, x: h, tokenCount: n, y: gate)
            Matmul.multiply(layer.up, x: h, tokenCount: n, y: up)
            Elementwise.siluMultiply(gate: gate, up: up, count: n * ff)
            Matmul.multiply(layer.down, x: gate, tokenCount: n, y: h)
            for t in 0..<n { Elementwise.add(h + t * d, into: x + t * d, count: d) }
        }

        let rows = batch.logitRows.count
        for (i, t) in batch.logitRows.enumerated() {
            Elementwise.rmsNorm(x + t * d, weight: weights.outputNorm, epsilon: c.rmsEpsilon, count: d, into: h + i * d)
        }
        let vocab = c.vocabularySize
        if logits.count != rows * vocab { logits = [Float](repeating: 0, count: rows * vocab) }
        logits.withUnsafeMutableBufferPointer { out in
            Matmul.multiply(weights.output, x: h, tokenCount: rows, y: out.baseAddress!)
        }
    }
}

/// The scratch activations of forward steps, reused from step to step (one per engine loop).
public final class LlamaState {
    public let configuration: LlamaConfiguration
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

    public init(configuration: LlamaConfiguration) { self.configuration = configuration }

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
        tokenCapacity = capacity
    }
}
