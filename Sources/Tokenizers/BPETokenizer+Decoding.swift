extension BPETokenizer {
    /// The text of a token sequence: the concatenated bytes of the tokens read as UTF-8, an
    /// invalid or cut-off sequence shown as U+FFFD (as Swift's `String(decoding:as:)` does).
    ///
    /// - Parameter skipSpecialTokens: Leave out control tokens (`<|im_end|>`); by default they
    ///   are written as their literal text, so `decode(encode(s)) == s`.
    public func decode(_ ids: some Sequence<Int32>, skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids where !(skipSpecialTokens && tokenType(id) == .control) {
            bytes.append(contentsOf: self.bytes(of: id))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
