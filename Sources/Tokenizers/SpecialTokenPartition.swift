/// Cuts special tokens out of the input the way llama.cpp does (`tokenizer_st_partition`), as
/// SentencePiece-style vocabularies need: the special tokens are taken longest first (ties: the
/// lower id), and each claims every left-to-right, non-overlapping occurrence in the text not yet
/// claimed. (``SpecialTokenMatcher``'s leftmost-longest scan differs only where two special tokens
/// overlap in the text; Gemma's runs of spaces and newlines make that common, so here the exact
/// rule matters.) User-defined tokens are always special; control and unknown tokens only when
/// the caller parses special tokens.
struct SpecialTokenPartition: Sendable {
    enum Segment: Equatable {
        case text(Range<Int>)
        case special(Int32)
    }

    /// A byte trie over the special tokens' spellings: `children[node]` maps a byte to a node,
    /// `tokenAt[node]` is the token spelled by the path to it (-1 for none).
    private let children: [[UInt8: Int32]]
    private let tokenAt: [Int32]
    /// Claim order of each special token id (smaller claims first), and whether it is control.
    private let rank: [Int32: Int]
    private let isControl: Set<Int32>

    init(tokens: [String], tokenTypes: [TokenType]) {
        var children: [[UInt8: Int32]] = [[:]]
        var tokenAt: [Int32] = [-1]
        var special: [(id: Int32, length: Int)] = []
        var isControl: Set<Int32> = []
        for (id, token) in tokens.enumerated() where !token.isEmpty {
            let type = tokenTypes[id]
            guard type == .control || type == .userDefined || type == .unknown else { continue }
            var node = 0
            for byte in token.utf8 {
                if let next = children[node][byte] {
                    node = Int(next)
                } else {
                    children.append([:])
                    tokenAt.append(-1)
                    children[node][byte] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            if tokenAt[node] < 0 { tokenAt[node] = Int32(id) }
            special.append((Int32(id), token.utf8.count))
            if type != .userDefined { isControl.insert(Int32(id)) }
        }
        special.sort { $0.length > $1.length || ($0.length == $1.length && $0.id < $1.id) }
        var rank: [Int32: Int] = [:]
        for (r, s) in special.enumerated() { rank[s.id] = r }
        self.children = children
        self.tokenAt = tokenAt
        self.rank = rank
        self.isControl = isControl
    }

    /// The segments of `bytes` in order; text segments are never empty.
    func segments(of bytes: [UInt8], matchControlTokens: Bool) -> [Segment] {
        // Every occurrence of every special token (overlapping ones included).
        var occurrences: [(rank: Int, start: Int, end: Int, id: Int32)] = []
        for start in bytes.indices {
            var node = 0
            var i = start
            while i < bytes.count, let next = children[node][bytes[i]] {
                node = Int(next)
                i += 1
                let id = tokenAt[node]
                if id >= 0 && (matchControlTokens || !isControl.contains(id)) {
                    occurrences.append((rank[id]!, start, i, id))
                }
            }
        }
        if occurrences.isEmpty { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        // Longest token first; each takes its left-to-right occurrences that touch nothing claimed.
        occurrences.sort { ($0.rank, $0.start) < ($1.rank, $1.start) }
        var claimed = [Bool](repeating: false, count: bytes.count)
        var claims: [(start: Int, end: Int, id: Int32)] = []
        var index = 0
        while index < occurrences.count {
            let rank = occurrences[index].rank
            var lastEnd = 0
            while index < occurrences.count && occurrences[index].rank == rank {
                let o = occurrences[index]
                index += 1
                guard o.start >= lastEnd, !claimed[o.start..<o.end].contains(true) else { continue }
                for i in o.start..<o.end { claimed[i] = true }
                claims.append((o.start, o.end, o.id))
                lastEnd = o.end
            }
        }
        claims.sort { $0.start < $1.start }
        var segments: [Segment] = []
        var textStart = 0
        for c in claims {
            if textStart < c.start { segments.append(.text(textStart..<c.start)) }
            segments.append(.special(c.id))
            textStart = c.end
        }
        if textStart < bytes.count { segments.append(.text(textStart..<bytes.count)) }
        return segments
    }
}
