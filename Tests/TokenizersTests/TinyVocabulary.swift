import Tokenizers

/// Hand-made byte-level vocabularies for hermetic tests: a few special tokens, one token per
/// byte value, then one token per merge, so every expected tokenization can be worked out by
/// hand from the merge ranks.
enum TinyVocabulary {
    /// Control tokens of the tiny vocabularies, ids 0, 1, 2, 3, 4.
    static let controlTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|a|>", "<|a|>b"]

    /// A tokenizer whose vocabulary is `controlTokens`, then `userDefined`, then the 256 byte
    /// tokens (minus `missingBytes`), then the result of each merge in rank order.
    ///
    /// - Parameter merges: `"left right"` in byte-level spelling (`Ġ` for a space).
    static func tokenizer(
        merges: [String] = [], userDefined: [String] = [], missingBytes: Set<UInt8> = [],
        preTokenizer: PreTokenizer = .smollm, addBOS: Bool = false
    ) throws -> BPETokenizer {
        var tokens = controlTokens + userDefined
        var types = [Int32](repeating: TokenType.control.rawValue, count: controlTokens.count)
            + [Int32](repeating: TokenType.userDefined.rawValue, count: userDefined.count)
        for byte in 0...255 where !missingBytes.contains(UInt8(byte)) {
            tokens.append(String(ByteLevel.scalarForByte[byte]))
        }
        for merge in merges {
            let joined = merge.replacingOccurrences(of: " ", with: "")
            if !tokens.contains(joined) { tokens.append(joined) }
        }
        types += [Int32](repeating: TokenType.normal.rawValue, count: tokens.count - types.count)
        return try BPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: preTokenizer,
            bosTokenID: 1, eosTokenID: 2, addBOS: addBOS)
    }

    /// The vocabulary strings of the tokens of `text`: what a test writes out by hand.
    static func tokenStrings(_ tokenizer: BPETokenizer, _ text: String, parseSpecialTokens: Bool = true) -> [String] {
        tokenizer.encode(text, parseSpecialTokens: parseSpecialTokens).map(tokenizer.token)
    }

    /// The id of the token of one byte value.
    static func byteToken(_ tokenizer: BPETokenizer, _ byte: UInt8) -> Int32 {
        tokenizer.tokenID(String(ByteLevel.scalarForByte[Int(byte)]))!
    }
}
