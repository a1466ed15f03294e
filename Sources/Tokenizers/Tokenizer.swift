/// What the engine needs of a tokenizer, whichever algorithm the model file asks for: byte-level
/// BPE (``BPETokenizer``, `tokenizer.ggml.model = gpt2`) or SentencePiece-style merging by score
/// (``SentencePieceTokenizer``, `llama`). Immutable and shared by every request.
public protocol Tokenizer: AnyObject, Sendable {
    /// The number of tokens; valid ids are `0..<vocabularySize`.
    var vocabularySize: Int { get }
    /// The beginning-of-sequence token, prepended by `encode` when the model asks for it.
    var bosTokenID: Int32? { get }
    /// The end-of-sequence token.
    var eosTokenID: Int32? { get }
    /// Whether `encode` puts ``bosTokenID`` first (`tokenizer.ggml.add_bos_token`).
    var addBOS: Bool { get }
    /// The token ids of `text` (BOS first when the model asks for it). `parseSpecialTokens`:
    /// whether control tokens written in the text become their single token (pass `false` for
    /// untrusted text); user-defined tokens are matched either way.
    func encode(_ text: String, parseSpecialTokens: Bool) -> [Int32]
    /// The id of a vocabulary string, if the vocabulary has it.
    func tokenID(_ token: String) -> Int32?
    func tokenType(_ id: Int32) -> TokenType
    /// The bytes a token stands for in decoded text (possibly part of a UTF-8 character).
    func bytes(of id: Int32) -> ArraySlice<UInt8>
}

extension Tokenizer {
    /// The token ids of `text`, control tokens in it parsed.
    public func encode(_ text: String) -> [Int32] { encode(text, parseSpecialTokens: true) }

    /// Whether `id` names a token (ids come from the model, so an invalid one is a bug upstream).
    public func isValid(_ id: Int32) -> Bool { id >= 0 && Int(id) < vocabularySize }

    /// The text of a token sequence: the concatenated bytes of the tokens read as UTF-8, an
    /// invalid or cut-off sequence shown as U+FFFD (as Swift's `String(decoding:as:)` does).
    ///
    /// - Parameter skipSpecialTokens: Leave out control tokens (`<|im_end|>`); by default they
    ///   are written as their literal text.
    public func decode(_ ids: some Sequence<Int32>, skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids where !(skipSpecialTokens && tokenType(id) == .control) {
            bytes.append(contentsOf: self.bytes(of: id))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
