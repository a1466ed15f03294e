/// What a vocabulary entry is, with llama.cpp's `LLAMA_TOKEN_TYPE_*` raw values (the
/// `tokenizer.ggml.token_type` array of a GGUF file).
///
/// The type decides how a token is matched and spelled:
/// - `normal` tokens are byte-level strings produced by BPE merges and decoded through
///   ``ByteLevel``;
/// - `control` tokens (`<|im_start|>`, `<|endoftext|>`) and `userDefined` tokens are matched
///   verbatim in the input before pre-tokenization and decode to their literal text;
/// - the other types are never produced by encoding and decode to their literal text.
public enum TokenType: Int32, Sendable, Hashable, CaseIterable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}
