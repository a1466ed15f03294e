import GGUF
import Tokenizers

/// A tiny byte-level BPE vocabulary, written as GGUF `tokenizer.ggml.*` metadata so a tiny model
/// loads as a whole `ModelBundle` (model, tokenizer, chat template, stop tokens): ChatML's three
/// control tokens (ids 0, 1, 2), the 256 byte tokens in GPT-2's byte-level spelling, then one
/// token per merge. Any text encodes (every byte has a token); a few common English pairs merge.
public enum TinyTokenizer {
    public static let controlTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    /// `"left right"` in byte-level spelling (`Ġ` is a space), lowest rank first; each joins two
    /// tokens listed before it.
    public static let merges = ["Ġ t", "h e", "Ġt he", "i n", "e r", "a n", "o n", "r e", "Ġ a", "e n", "a t", "o r", "Ġ s", "Ġ o"]

    /// The vocabulary, index = token id.
    public static let tokens: [String] = controlTokens + ByteLevel.scalarForByte.map { String($0) }
        + merges.map { $0.replacingOccurrences(of: " ", with: "") }

    /// Rows a model's embedding must have to go with this vocabulary.
    public static var vocabularySize: Int { tokens.count }

    /// The metadata entries: model `gpt2`, pre-tokenizer `smollm`, BOS `<|im_start|>`, EOS
    /// `<|im_end|>`, no BOS added.
    public static var metadata: [(String, GGUFValue)] {
        let types = tokens.indices.map { $0 < controlTokens.count ? TokenType.control.rawValue : TokenType.normal.rawValue }
        return [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("smollm")),
            ("tokenizer.ggml.tokens", .array(elementType: .string, elements: tokens.map { .string($0) })),
            ("tokenizer.ggml.merges", .array(elementType: .string, elements: merges.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, elements: types.map { .int32($0) })),
            ("tokenizer.ggml.bos_token_id", .uint32(1)),
            ("tokenizer.ggml.eos_token_id", .uint32(2)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
        ]
    }
}
