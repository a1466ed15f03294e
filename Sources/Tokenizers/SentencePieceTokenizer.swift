/// A SentencePiece-style tokenizer (llama.cpp's `LLAMA_VOCAB_TYPE_SPM`, `tokenizer.ggml.model =
/// llama`, as Gemma uses): vocabulary strings with a score each, `▁` (U+2581) for a space, and
/// byte-fallback tokens `<0xNN>` for characters the vocabulary lacks. It knows nothing of GGUF;
/// the engine reads `tokenizer.ggml.*` and hands the arrays over.
///
/// Encoding, exactly as llama.cpp does it:
/// 1. Special tokens are cut out of the text first (``SpecialTokenPartition``): user-defined ones
///    always, control and unknown ones when special tokens are parsed; longest token first, each
///    at every left-to-right non-overlapping occurrence in what is left.
/// 2. Each remaining piece on its own: a `▁` in front when ``addSpacePrefix`` is set and the piece
///    starts the text or follows a special token, every space becomes `▁`, the symbols are its
///    characters, and the adjacent pair whose concatenation is in the vocabulary with the highest
///    score is merged (ties: the leftmost) until no pair is in the vocabulary.
/// 3. A symbol left that is not in the vocabulary becomes one `<0xNN>` token per UTF-8 byte.
///
/// Decoding: normal tokens with `▁` as a space, byte tokens as their byte, the others as their text.
public final class SentencePieceTokenizer: Tokenizer {
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    public let unknownTokenID: Int32?
    /// Whether `encode` prepends ``bosTokenID`` (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    /// Whether a piece starting the text or following a special token gets a `▁` in front
    /// (`tokenizer.ggml.add_space_prefix`).
    public let addSpacePrefix: Bool

    let tokenStrings: [String]
    let scores: [Float]
    let tokenTypes: [TokenType]
    /// Ids by the UTF-8 bytes of their strings: llama.cpp compares bytes, while Swift's `String`
    /// equality is canonical equivalence (`"e\u{301}" == "é"`), which would merge tokens and
    /// inputs that differ in their bytes.
    let idsByToken: [[UInt8]: Int32]
    /// Each token's decoded bytes, one after another, and where each token's start.
    let decodedBytes: [UInt8]
    let decodedStarts: [Int32]
    /// The `<0xNN>` token of each byte value, -1 where the vocabulary has none.
    let byteTokenIDs: [Int32]
    let specialTokens: SpecialTokenPartition
    let pieceCache = PieceCache(capacity: 1 << 16)

    static let spaceMark: Unicode.Scalar = "\u{2581}"

    /// `text` with every `scalar` replaced by `replacement`.
    static func replacing(_ scalar: Unicode.Scalar, with replacement: Unicode.Scalar, in text: String) -> String {
        guard text.unicodeScalars.contains(scalar) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == scalar ? replacement : $0 }))
    }

    /// Builds the tokenizer, checking the arrays against each other.
    ///
    /// - Parameters:
    ///   - tokens: The vocabulary, index = token id (`▁` for spaces).
    ///   - scores: One score per token: higher merges first.
    ///   - tokenTypes: One ``TokenType`` raw value per token.
    /// - Throws: ``TokenizerError`` naming the first inconsistent entry.
    public init(
        tokens: [String], scores: [Float], tokenTypes: [Int32], bosTokenID: Int32? = nil, eosTokenID: Int32? = nil,
        unknownTokenID: Int32? = nil, addBOS: Bool = false, addSpacePrefix: Bool = false
    ) throws(TokenizerError) {
        guard !tokens.isEmpty, tokens.count <= Int(Int32.max) else { throw .vocabularySize(tokens.count) }
        guard tokenTypes.count == tokens.count else {
            throw .tokenTypeCountMismatch(tokenCount: tokens.count, tokenTypeCount: tokenTypes.count)
        }
        guard scores.count == tokens.count else { throw .scoreCountMismatch(tokenCount: tokens.count, scoreCount: scores.count) }
        var types: [TokenType] = []
        types.reserveCapacity(tokens.count)
        for (id, raw) in tokenTypes.enumerated() {
            guard let type = TokenType(rawValue: raw) else { throw .unknownTokenType(tokenID: Int32(id), value: raw) }
            types.append(type)
        }
        for (role, id) in [("bos", bosTokenID), ("eos", eosTokenID), ("unknown", unknownTokenID)] {
            if let id, !(0..<Int32(tokens.count)).contains(id) {
                throw .tokenIDOutOfRange(role: role, id: id, vocabularySize: tokens.count)
            }
        }
        if addBOS && bosTokenID == nil { throw .missingBOSToken }

        // A string listed twice keeps its first id.
        var idsByToken = [[UInt8]: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where idsByToken[Array(token.utf8)] == nil { idsByToken[Array(token.utf8)] = Int32(id) }
        var byteTokenIDs = [Int32](repeating: -1, count: 256)
        var decoded: [UInt8] = []
        var starts: [Int32] = []
        decoded.reserveCapacity(tokens.count * 6)
        starts.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            starts.append(Int32(decoded.count))
            switch types[id] {
            case .byte:
                guard let byte = Self.byteValue(token) else { throw .malformedByteToken(tokenID: Int32(id), token: token) }
                decoded.append(byte)
                if byteTokenIDs[Int(byte)] < 0 { byteTokenIDs[Int(byte)] = Int32(id) }
            case .normal:
                decoded += Self.replacing(Self.spaceMark, with: " ", in: token).utf8
            default:
                decoded += token.utf8
            }
        }
        starts.append(Int32(decoded.count))
        self.tokenStrings = tokens
        self.scores = scores
        self.tokenTypes = types
        self.idsByToken = idsByToken
        self.decodedBytes = decoded
        self.decodedStarts = starts
        self.byteTokenIDs = byteTokenIDs
        self.specialTokens = SpecialTokenPartition(tokens: tokens, tokenTypes: types)
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.unknownTokenID = unknownTokenID
        self.addBOS = addBOS
        self.addSpacePrefix = addSpacePrefix
    }

    /// `NN` of a `<0xNN>` token.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    public var vocabularySize: Int { tokenStrings.count }

    /// The vocabulary string of a token, as stored (`▁the`).
    public func token(_ id: Int32) -> String {
        precondition(isValid(id), "token id \(id) outside the vocabulary of \(vocabularySize)")
        return tokenStrings[Int(id)]
    }

    public func tokenID(_ token: String) -> Int32? { idsByToken[Array(token.utf8)] }

    public func tokenType(_ id: Int32) -> TokenType {
        precondition(isValid(id), "token id \(id) outside the vocabulary of \(vocabularySize)")
        return tokenTypes[Int(id)]
    }

    public func bytes(of id: Int32) -> ArraySlice<UInt8> {
        precondition(isValid(id), "token id \(id) outside the vocabulary of \(vocabularySize)")
        return decodedBytes[Int(decodedStarts[Int(id)])..<Int(decodedStarts[Int(id) + 1])]
    }

    public func encode(_ text: String, parseSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 2)
        if addBOS, let bosTokenID { ids.append(bosTokenID) }
        let bytes = Array(text.utf8)
        var afterSpecial = true
        for segment in specialTokens.segments(of: bytes, matchControlTokens: parseSpecialTokens) {
            switch segment {
            case .special(let id):
                ids.append(id)
                afterSpecial = true
            case .text(let range):
                var piece = String(decoding: bytes[range], as: UTF8.self)
                if addSpacePrefix && afterSpecial { piece = " " + piece }
                encodePiece(Self.replacing(" ", with: Self.spaceMark, in: piece), into: &ids)
                afterSpecial = false
            }
        }
        return ids
    }

    /// Appends the tokens of one piece (spaces already `▁`), from the cache when seen before.
    private func encodePiece(_ piece: String, into ids: inout [Int32]) {
        // The cache's String keys compare by canonical equivalence: key by the bytes, one
        // Latin-1 scalar each (no two of those strings are equivalent unless equal).
        let key = String(String.UnicodeScalarView(piece.utf8.map { Unicode.Scalar($0) }))
        if let cached = pieceCache.tokens(for: key) {
            ids.append(contentsOf: cached)
            return
        }
        let start = ids.count
        var merger = ScoreMerger(piece: piece)
        merger.merge { idsByToken[Array($0.utf8)].map { scores[Int($0)] } }
        for symbol in merger.pieces() {
            if let id = idsByToken[Array(symbol.utf8)] {
                ids.append(id)
            } else {
                for byte in symbol.utf8 {
                    let id = byteTokenIDs[Int(byte)]
                    if id >= 0 { ids.append(id) } else if let unknownTokenID { ids.append(unknownTokenID) }
                }
            }
        }
        pieceCache.insert(Array(ids[start...]), for: key)
    }
}

/// The merge loop of SentencePiece-style encoding: symbols in a linked list, candidate pairs in a
/// max-heap by (score, then leftmost), stale pairs skipped when popped (llama.cpp's algorithm).
struct ScoreMerger {
    private struct Symbol {
        var start: String.Index
        var end: String.Index
        var previous: Int
        var next: Int
    }

    private struct Pair: Comparable {
        var score: Float
        var left: Int
        var right: Int
        /// Total length of the two symbols when pushed: a mismatch later means the pair is stale.
        var length: Int

        /// Higher score first, then the leftmost.
        static func < (a: Pair, b: Pair) -> Bool { a.score < b.score || (a.score == b.score && a.left > b.left) }
    }

    private let piece: String
    private var symbols: [Symbol] = []
    private var lengths: [Int] = []
    private var heap: [Pair] = []

    init(piece: String) {
        self.piece = piece
        var i = piece.startIndex
        while i < piece.endIndex {
            let next = piece.unicodeScalars.index(after: i)
            symbols.append(Symbol(start: i, end: next, previous: symbols.count - 1, next: symbols.count + 1))
            lengths.append(1)
            i = next
        }
        if !symbols.isEmpty { symbols[symbols.count - 1].next = -1 }
    }

    /// Merges until no adjacent pair's concatenation has a score.
    mutating func merge(score: (Substring) -> Float?) {
        for i in symbols.indices.dropFirst() { push(i - 1, i, score) }
        while let pair = pop() {
            let l = pair.left, r = pair.right
            guard lengths[l] > 0, lengths[r] > 0, lengths[l] + lengths[r] == pair.length, symbols[l].next == r else { continue }
            symbols[l].end = symbols[r].end
            lengths[l] += lengths[r]
            lengths[r] = 0
            symbols[l].next = symbols[r].next
            if symbols[r].next >= 0 { symbols[symbols[r].next].previous = l }
            push(symbols[l].previous, l, score)
            push(l, symbols[l].next, score)
        }
    }

    /// The scalars between two symbol boundaries. (Slicing the String itself would round the
    /// bounds to Character boundaries, merging a combining mark or an emoji modifier with its base.)
    private func text(_ start: String.Index, _ end: String.Index) -> Substring {
        Substring(piece.unicodeScalars[start..<end])
    }

    /// The symbols left, in order.
    func pieces() -> [Substring] {
        var out: [Substring] = []
        var i = symbols.isEmpty ? -1 : 0
        while i >= 0 {
            out.append(text(symbols[i].start, symbols[i].end))
            i = symbols[i].next
        }
        return out
    }

    private mutating func push(_ left: Int, _ right: Int, _ score: (Substring) -> Float?) {
        guard left >= 0, right >= 0, let s = score(text(symbols[left].start, symbols[right].end)) else { return }
        heap.append(Pair(score: s, left: left, right: right, length: lengths[left] + lengths[right]))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[parent] < heap[child] else { break }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func pop() -> Pair? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let a = 2 * parent + 1, b = a + 1
                var best = parent
                if a < heap.count && heap[best] < heap[a] { best = a }
                if b < heap.count && heap[best] < heap[b] { best = b }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
