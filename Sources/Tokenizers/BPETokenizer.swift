/// A byte-level BPE tokenizer (GPT-2 style), built from the plain arrays a model file stores:
/// the vocabulary, the merges in rank order and the token types. It knows nothing of GGUF; the
/// engine reads `tokenizer.ggml.*` and hands the arrays over.
///
/// Encoding: special tokens are cut out of the text first (``SpecialTokenMatcher``), the rest is
/// cut into pieces by the ``PreTokenizer``, and each piece's UTF-8 bytes are merged by rank
/// (``BytePairEncoder``). Decoding concatenates the bytes of the tokens, so
/// `decode(encode(s)) == s` for every `s` whose bytes all have byte tokens.
///
/// Immutable apart from an internal, lock-protected cache of encoded pieces, so one instance is
/// shared by every request.
public final class BPETokenizer: Tokenizer {
    public let preTokenizer: PreTokenizer
    /// The beginning-of-sequence token, prepended by `encode` when ``addBOS`` is set.
    public let bosTokenID: Int32?
    /// The end-of-sequence token (for SmolLM2-Instruct `<|im_end|>`, which ends a chat turn).
    public let eosTokenID: Int32?
    /// Whether `encode` prepends ``bosTokenID`` (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool

    let tokenStrings: [String]
    let tokenTypes: [TokenType]
    let idsByToken: [String: Int32]
    let tokenBytes: TokenBytes
    let merges: MergeTable
    let specialTokens: SpecialTokenMatcher
    /// The token of each byte value, -1 where the vocabulary has none (SmolLM2 lacks a few
    /// ASCII controls and the lead bytes that never occur in UTF-8).
    let byteTokenIDs: [Int32]
    let pieceCache = PieceCache(capacity: 1 << 16)

    /// Builds the tokenizer, checking the arrays against each other.
    ///
    /// - Parameters:
    ///   - tokens: The vocabulary, index = token id; normal tokens in ``ByteLevel`` form.
    ///   - merges: `"left right"` entries, index = rank (lower merges first).
    ///   - tokenTypes: One ``TokenType`` raw value per token (pass all `1` if the file has none).
    ///   - preTokenizer: How text is cut before merging.
    ///   - bosTokenID, eosTokenID: Must be vocabulary ids when given.
    ///   - addBOS: Whether `encode` prepends the BOS token; then `bosTokenID` is required.
    /// - Throws: ``TokenizerError`` naming the first inconsistent entry.
    public init(
        tokens: [String], merges: [String], tokenTypes: [Int32], preTokenizer: PreTokenizer,
        bosTokenID: Int32? = nil, eosTokenID: Int32? = nil, addBOS: Bool = false
    ) throws(TokenizerError) {
        guard !tokens.isEmpty, tokens.count <= Int(Int32.max) else { throw .vocabularySize(tokens.count) }
        guard tokenTypes.count == tokens.count else {
            throw .tokenTypeCountMismatch(tokenCount: tokens.count, tokenTypeCount: tokenTypes.count)
        }
        var types: [TokenType] = []
        types.reserveCapacity(tokens.count)
        for (id, raw) in tokenTypes.enumerated() {
            guard let type = TokenType(rawValue: raw) else { throw .unknownTokenType(tokenID: Int32(id), value: raw) }
            types.append(type)
        }
        for (role, id) in [("bos", bosTokenID), ("eos", eosTokenID)] {
            if let id, !(0..<Int32(tokens.count)).contains(id) {
                throw .tokenIDOutOfRange(role: role, id: id, vocabularySize: tokens.count)
            }
        }
        if addBOS && bosTokenID == nil { throw .missingBOSToken }

        // A string listed twice keeps its first id.
        var idsByToken = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where idsByToken[token] == nil {
            idsByToken[token] = Int32(id)
        }
        self.tokenBytes = try TokenBytes(tokens: tokens, tokenTypes: types)
        self.merges = try MergeTable(merges: merges, idsByToken: idsByToken)
        self.byteTokenIDs = ByteLevel.scalarForByte.map { idsByToken[String($0)] ?? -1 }
        self.specialTokens = SpecialTokenMatcher(tokens: tokens, tokenTypes: types)
        self.tokenStrings = tokens
        self.tokenTypes = types
        self.idsByToken = idsByToken
        self.preTokenizer = preTokenizer
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.addBOS = addBOS
    }

    /// The number of tokens; valid ids are `0..<vocabularySize`.
    public var vocabularySize: Int { tokenStrings.count }

    /// The number of merge rules (distinct pairs).
    public var mergeCount: Int { merges.count }

    /// The vocabulary string of a token, as stored (byte-level form for normal tokens: `Ġthe`).
    public func token(_ id: Int32) -> String {
        precondition(isValid(id), "token id \(id) outside the vocabulary of \(vocabularySize)")
        return tokenStrings[Int(id)]
    }

    /// The id of a vocabulary string (`"<|im_end|>"`, `"Ġthe"`), if the vocabulary has it.
    public func tokenID(_ token: String) -> Int32? {
        idsByToken[token]
    }

    public func tokenType(_ id: Int32) -> TokenType {
        precondition(isValid(id), "token id \(id) outside the vocabulary of \(vocabularySize)")
        return tokenTypes[Int(id)]
    }

    /// The bytes a token stands for: what it adds to decoded text. May be part of a UTF-8
    /// character; ``StreamingDecoder`` reassembles those.
    public func bytes(of id: Int32) -> ArraySlice<UInt8> {
        precondition(isValid(id), "token id \(id) outside the vocabulary of \(vocabularySize)")
        return tokenBytes[id]
    }

}
