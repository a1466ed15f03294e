import GGUF
import Llama
import PagedKVCache
import Testing
import TestSupport

/// Tiny random models of several shapes and weight types: the engine's forward pass (prefill of
/// a prompt, then token-by-token decode against the cache) against the naive double-precision
/// reference over the same decoded weights.
struct TinyModelTests {
    static let shapes: [TinyModel.Shape] = [
        .init(heads: 4, kvHeads: 4),  // no GQA
        .init(heads: 4, kvHeads: 2),
        .init(heads: 6, kvHeads: 2, embedding: 96, tiedOutput: false),
        .init(heads: 8, kvHeads: 1, embedding: 256),  // GQA 8, head size 32
    ]
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]

    @Test(arguments: 0..<4, types)
    func forwardMatchesTheNaiveReference(shapeIndex: Int, type: GGMLType) throws {
        let tiny = TinyModel(shape: Self.shapes[shapeIndex], weightType: type, seed: UInt64(shapeIndex * 31 + Int(type.rawValue)))
        try Self.expectForwardMatchesReference(tiny)
    }

    /// Prefills six tokens (logits of every position), decodes three more one at a time, and
    /// compares every logit with the naive reference; returns the engine's logits per position.
    @discardableResult
    static func expectForwardMatchesReference(_ tiny: TinyModel) throws -> [[Float]] {
        let type = tiny.weightType
        let model = try LlamaModel(path: try tiny.write())
        #expect(model.configuration.groupSize == tiny.shape.heads / tiny.shape.kvHeads)
        let tokens: [Int32] = [3, 17, 42, 5, 79, 0, 11, 64, 23]
        let expected = tiny.referenceLogits(tokens)

        let kv = NaiveKVStore(configuration: model.configuration)
        let state = LlamaState(configuration: model.configuration)
        let id = SequenceID(rawValue: 1)
        var logits: [Float] = []
        // Prefill the first six tokens, asking for every position's logits.
        var batch = ForwardBatch()
        batch.append(sequence: id, tokens: tokens[0..<6], cachedCount: 0)
        batch.logitRows = Array(0..<6)
        model.forward(batch, kv: kv, state: state, logits: &logits)
        var got: [[Float]] = (0..<6).map { Array(logits[$0 * 80..<($0 + 1) * 80]) }
        // Then decode the rest one token at a time.
        for i in 6..<tokens.count {
            batch.removeAll()
            batch.append(sequence: id, tokens: [tokens[i]], cachedCount: i)
            model.forward(batch, kv: kv, state: state, logits: &logits)
            got.append(logits)
        }
        for (p, (e, g)) in zip(expected, got).enumerated() {
            let err = zip(e, g).map { abs($0 - Double($1)) }.max()!
            #expect(err < 1e-3, "\(tiny.shape) \(type.name) position \(p): max |Δ| \(err)")
        }
        return got
    }

    /// gemma3-shaped models (sliding window 4 on layers 0...4, layer 5 global; 13 tokens, so the
    /// window cuts in) with K-quant weights where rows allow, prefilled in two chunks then decoded.
    @Test(arguments: [(2, 1), (4, 2)], [GGMLType.q4_K, .q5_K, .q6_K, .q5_0, .f32])
    func gemma3MatchesTheNaiveReference(heads: (Int, Int), type: GGMLType) throws {
        let tiny = TinyModel(shape: .gemma3(heads: heads.0, kvHeads: heads.1), weightType: type, seed: UInt64(heads.0 * 7 + Int(type.rawValue)))
        let model = try LlamaModel(path: try tiny.write())
        let c = model.configuration
        #expect(c.architecture == .gemma3 && c.headSize == 128 && c.slidingWindow == 4 && c.globalLayers == [5])
        let tokens: [Int32] = [2, 17, 42, 5, 79, 0, 11, 64, 23, 9, 31, 77, 50]
        let expected = tiny.referenceLogits(tokens)
        let kv = NaiveKVStore(configuration: c)
        let state = LlamaState(configuration: c)
        let id = SequenceID(rawValue: 1)
        var logits: [Float] = []
        var got: [[Float]] = []
        var batch = ForwardBatch()
        for chunk in [0..<3, 3..<8] {
            batch.removeAll()
            batch.append(sequence: id, tokens: tokens[chunk], cachedCount: chunk.lowerBound)
            batch.logitRows = Array(0..<chunk.count)
            model.forward(batch, kv: kv, state: state, logits: &logits)
            got += (0..<chunk.count).map { Array(logits[$0 * 80..<($0 + 1) * 80]) }
        }
        for i in 8..<tokens.count {
            batch.removeAll()
            batch.append(sequence: id, tokens: [tokens[i]], cachedCount: i)
            model.forward(batch, kv: kv, state: state, logits: &logits)
            got.append(logits)
        }
        for (p, (e, g)) in zip(expected, got).enumerated() {
            let err = zip(e, g).map { abs($0 - Double($1)) }.max()!
            #expect(err < 1e-3, "\(tiny.shape) \(type.name) position \(p): max |Δ| \(err)")
        }
    }

    @Test func invalidConfigurationsAreRefused() throws {
        let tiny = TinyModel(shape: .init(heads: 4, kvHeads: 2), weightType: .f32, seed: 1)
        // 4 query heads cannot share 3 KV heads.
        let index = tiny.writer.metadata.firstIndex { $0.0 == "llama.attention.head_count_kv" }!
        var w = tiny.writer
        w.metadata[index].1 = .uint32(3)
        let path = try w.write(named: "bad-gqa")
        #expect(performing: { try LlamaModel(path: path) }, throws: { error in
            guard case .invalidConfiguration(let why) = error as? LlamaError else { return false }
            return why.contains("head_count_kv")
        })
        // A missing tensor is named.
        w = tiny.writer
        w.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        let missing = try w.write(named: "missing")
        #expect(throws: LlamaError.missingTensor("blk.1.ffn_up.weight")) { try LlamaModel(path: missing) }
        // Another architecture is refused by name.
        w = tiny.writer
        w.metadata[0].1 = .string("mamba")
        let mamba = try w.write(named: "mamba")
        #expect(throws: LlamaError.unsupportedArchitecture("mamba")) { try LlamaModel(path: mamba) }
    }
}
