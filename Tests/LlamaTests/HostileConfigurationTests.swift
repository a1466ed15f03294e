import GGUF
import Llama
import Testing
import TestSupport

/// Hyper-parameters a hostile file may declare: each above its bound in ``LlamaConfiguration``
/// gives an invalid-configuration error naming the key, before any size is computed from it.
struct HostileConfigurationTests {
    func load(_ key: String, _ value: GGUFValue) throws -> LlamaModel {
        var w = TinyModel(shape: .init(heads: 4, kvHeads: 2), weightType: .f32, seed: 3).writer
        let index = w.metadata.firstIndex { $0.0 == key }!
        w.metadata[index].1 = value
        return try LlamaModel(path: try w.write(named: "hostile"))
    }

    func expectRefused(_ key: String, _ value: GGUFValue, naming word: String) {
        #expect("\(key) = \(value)", performing: { try load(key, value) }, throws: { error in
            guard case .invalidConfiguration(let why) = error as? LlamaError else { return false }
            return why.contains(word)
        })
    }

    @Test func hugeHeadCountsDoNotOverflow() {
        // 2^62 heads: head_count × head size overflowed an Int before.
        expectRefused("llama.attention.head_count", .uint64(1 << 62), naming: "head counts")
        expectRefused("llama.attention.head_count_kv", .uint64(1 << 62), naming: "head counts")
        expectRefused("llama.attention.head_count", .int64(-4), naming: "head counts")
    }

    @Test func hugeContextLengthIsRefused() {
        // 2^40 tokens: the first request reserved that many token ids and page entries.
        expectRefused("llama.context_length", .uint64(1 << 40), naming: "context_length")
        expectRefused("llama.context_length", .uint32(0), naming: "context_length")
    }

    @Test func hugeWidthsAndLayerCountsAreRefused() {
        expectRefused("llama.block_count", .uint64(1 << 40), naming: "block_count")
        expectRefused("llama.embedding_length", .uint64(1 << 50), naming: "exceeds")  // its head size first
        expectRefused("llama.feed_forward_length", .uint64(1 << 50), naming: "feed_forward_length")
        expectRefused("llama.rope.freq_base", .float32(.infinity), naming: "freq_base")
        expectRefused("llama.attention.layer_norm_rms_epsilon", .float32(.nan), naming: "rms_epsilon")
    }

    @Test func aZeroRowEmbeddingIsAFileErrorNotADivisionByZero() {
        var w = TinyModel(shape: .init(heads: 4, kvHeads: 2), weightType: .f32, seed: 3).writer
        let index = w.tensors.firstIndex { $0.name == "token_embd.weight" }!
        w.tensors[index].dimensionsOverride = [0, 80]
        #expect(throws: LlamaError.file(.zeroDimension(tensor: "token_embd.weight", dimensions: [0, 80]))) {
            try LlamaModel(path: try w.write(named: "zero"))
        }
    }
}
