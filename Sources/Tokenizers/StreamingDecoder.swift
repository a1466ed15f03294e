/// Turns tokens into text one token at a time, for printing a generation as it happens.
///
/// A token may end in the middle of a UTF-8 character (byte-level BPE splits rare characters and
/// emoji into byte tokens), and printing each token's bytes on its own would show U+FFFD where
/// the character belongs. The decoder holds back the bytes of a character that is still
/// incomplete and releases them once the character is whole. Bytes that can never become valid
/// UTF-8 are released at once as U+FFFD, and ``finish()`` flushes a character the generation
/// cut off. The pieces concatenate to exactly `String(decoding: allBytes, as: UTF8.self)`, that
/// is to `tokenizer.decode(allTokens)`.
public struct StreamingDecoder: Sendable {
    public let tokenizer: any Tokenizer
    /// Leave out control tokens (`<|im_end|>`) instead of writing their text.
    public let skipSpecialTokens: Bool
    /// Bytes not yet returned: at most the first three bytes of one UTF-8 character.
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// The text that token `id` completes; empty while a character is still incomplete.
    public mutating func append(_ id: Int32) -> String {
        if skipSpecialTokens && tokenizer.tokenType(id) == .control { return "" }
        pending.append(contentsOf: tokenizer.bytes(of: id))
        let cut = pending.count - Self.incompleteSuffixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// The text still held back (an incomplete character becomes U+FFFD); the decoder is then
    /// empty and can be reused.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the trailing bytes that begin a UTF-8 character and could still be
    /// completed by bytes to come; 0 when the bytes end on a character boundary or with bytes
    /// that are invalid whatever follows.
    ///
    /// Cutting just before a lead byte never changes how the bytes before it decode, so the
    /// returned pieces concatenate to the decoding of the whole.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        // The last lead byte within the last four bytes: a character is at most four bytes.
        var lead = bytes.count - 1
        while lead >= 0, lead > bytes.count - 4, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0 else { return 0 }
        let suffix = bytes.count - lead
        let first = bytes[lead]
        let length: Int
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0  // ASCII, a stray continuation byte, or a byte that never leads
        }
        guard suffix < length else { return 0 }
        if suffix >= 2 {
            // The second byte's range is narrower after these leads (no overlong forms, no
            // surrogates, nothing above U+10FFFF); outside it the bytes are already invalid.
            let second = bytes[lead + 1]
            let valid: ClosedRange<UInt8> = switch first {
            case 0xE0: 0xA0...0xBF
            case 0xED: 0x80...0x9F
            case 0xF0: 0x90...0xBF
            case 0xF4: 0x80...0x8F
            default: 0x80...0xBF
            }
            guard valid.contains(second) else { return 0 }
        }
        return suffix
    }
}
