/// Finds control and user-defined tokens (`<|im_start|>`, `<|endoftext|>`…) written verbatim in
/// the input, before pre-tokenization, so that chat markup becomes one token each instead of
/// `<`, `|`, `im`, `_start`….
///
/// The input is scanned left to right; at each byte the longest special token that starts there
/// wins (leftmost-longest, as Hugging Face's added-token matcher does). llama.cpp instead lets the
/// longest token claim all its occurrences first; the two differ only when two special tokens
/// overlap in the text, which the `<…>`-shaped tokens of real vocabularies cannot.
struct SpecialTokenMatcher: Sendable {
    /// A stretch of the input: ordinary text (a byte range) or one special token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case special(Int32)
    }

    private struct Entry: Sendable {
        var bytes: [UInt8]
        var id: Int32
        /// Control tokens are matched only when the caller allows it (user text that merely
        /// mentions `<|im_end|>` must not end a turn); user-defined tokens always are.
        var isControl: Bool
    }

    /// Entries by their first byte, longest first.
    private let entriesByFirstByte: [[Entry]]

    /// `tokenTypes[id]` decides which tokens are special; empty strings never match.
    init(tokens: [String], tokenTypes: [TokenType]) {
        var entriesByFirstByte = [[Entry]](repeating: [], count: 256)
        for (id, token) in tokens.enumerated() where !token.isEmpty {
            let type = tokenTypes[id]
            guard type == .control || type == .userDefined else { continue }
            let bytes = Array(token.utf8)
            entriesByFirstByte[Int(bytes[0])].append(
                Entry(bytes: bytes, id: Int32(id), isControl: type == .control))
        }
        for byte in 0..<256 {
            entriesByFirstByte[byte].sort { $0.bytes.count > $1.bytes.count || ($0.bytes.count == $1.bytes.count && $0.id < $1.id) }
        }
        self.entriesByFirstByte = entriesByFirstByte
    }

    /// Calls `body` with the segments of `bytes` in order; text segments are never empty.
    /// Matches start and end on scalar boundaries because both sides are valid UTF-8.
    func forEachSegment(
        in bytes: UnsafeBufferPointer<UInt8>, matchControlTokens: Bool, _ body: (Segment) -> Void
    ) {
        var textStart = 0
        var i = 0
        scan: while i < bytes.count {
            for entry in entriesByFirstByte[Int(bytes[i])]
            where (matchControlTokens || !entry.isControl) && Self.bytes(bytes, at: i, equal: entry.bytes) {
                if textStart < i { body(.text(textStart..<i)) }
                body(.special(entry.id))
                i += entry.bytes.count
                textStart = i
                continue scan
            }
            i += 1
        }
        if textStart < bytes.count { body(.text(textStart..<bytes.count)) }
    }

    private static func bytes(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, equal token: [UInt8]) -> Bool {
        guard bytes.count - start >= token.count else { return false }
        for (offset, byte) in token.enumerated() where bytes[start + offset] != byte { return false }
        return true
    }
}
