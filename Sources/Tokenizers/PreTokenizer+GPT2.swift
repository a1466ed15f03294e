extension PreTokenizer {
    private static let apostrophe = UInt32(UInt8(ascii: "'"))
    private static let space = UInt32(UInt8(ascii: " "))

    /// Where the match of GPT-2's regex that starts at scalar `start` ends (exclusive), the
    /// input ending at `limit`. The regex, alternatives tried in order, the first that matches
    /// wins:
    ///
    /// ```
    /// 's|'t|'re|'ve|'m|'ll|'d     contractions, lower case only
    /// | ?\p{L}+                   letters, with at most one U+0020 SPACE in front (not NBSP, not tab)
    /// | ?\p{N}+                   numbers, likewise
    /// | ?[^\s\p{L}\p{N}]+         anything else (punctuation, emoji, ZWJ, marks), likewise
    /// |\s+(?!\S)                  a whitespace run that ends the input, or all but its last
    /// |\s+                        scalar (left to prefix the word after it); one lone scalar
    /// ```
    ///
    /// Every scalar is matched by some alternative, so matches tile the input.
    static func gpt2MatchEnd(in text: ScalarText, from start: Int, limit: Int) -> Int {
        let first = text.values[start]
        if first == apostrophe, start + 1 < limit,
           let length = contractionLength(text.values[start + 1], start + 2 < limit ? text.values[start + 2] : 0) {
            return start + length
        }
        var runStart = start
        if first == space, start + 1 < limit, text.classes[start + 1] != .whitespace {
            runStart = start + 1
        }
        let runClass = text.classes[runStart]
        var end = runStart + 1
        while end < limit, text.classes[end] == runClass { end += 1 }
        if runClass != .whitespace || end == limit || end - start == 1 {
            return end
        }
        // `\s+(?!\S)` backtracks one scalar so that the run is followed by whitespace.
        return end - 1
    }

    /// The length of the contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) spelled by an
    /// apostrophe followed by `second` and `third` (0 past the end), or nil.
    private static func contractionLength(_ second: UInt32, _ third: UInt32) -> Int? {
        guard second < 0x80 else { return nil }
        return switch (UInt8(second), third < 0x80 ? UInt8(third) : 0) {
        case (UInt8(ascii: "s"), _), (UInt8(ascii: "t"), _), (UInt8(ascii: "m"), _), (UInt8(ascii: "d"), _):
            2
        case (UInt8(ascii: "r"), UInt8(ascii: "e")), (UInt8(ascii: "v"), UInt8(ascii: "e")),
             (UInt8(ascii: "l"), UInt8(ascii: "l")):
            3
        default:
            nil
        }
    }
}
