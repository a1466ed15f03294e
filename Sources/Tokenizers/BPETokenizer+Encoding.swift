extension BPETokenizer {
    /// The token ids of `text`, with the BOS token first when ``addBOS`` is set.
    ///
    /// - Parameter parseSpecialTokens: Whether control tokens written in the text
    ///   (`<|im_start|>`) become their single token. Pass `false` for untrusted text that must
    ///   not be able to forge chat markup: it is then encoded as ordinary characters.
    ///   User-defined tokens are matched either way.
    /// - Complexity: O(n log n) in the length of the text (the log from merging within long
    ///   pieces); pieces seen before come from a cache.
    public func encode(_ text: String, parseSpecialTokens: Bool) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 2)
        if addBOS, let bosTokenID { ids.append(bosTokenID) }
        var text = text
        text.withUTF8 { bytes in
            var scalars = ScalarText()
            var encoder = BytePairEncoder()
            specialTokens.forEachSegment(in: bytes, matchControlTokens: parseSpecialTokens) { segment in
                switch segment {
                case .special(let id):
                    ids.append(id)
                case .text(let range):
                    scalars.load(bytes, range: range)
                    preTokenizer.forEachPiece(of: scalars) { piece in
                        encodePiece(UnsafeBufferPointer(rebasing: bytes[piece]), encoder: &encoder, into: &ids)
                    }
                }
            }
        }
        return ids
    }

    /// Appends the tokens of one piece, from the cache when it has been seen before.
    private func encodePiece(
        _ piece: UnsafeBufferPointer<UInt8>, encoder: inout BytePairEncoder, into ids: inout [Int32]
    ) {
        if piece.count == 1, byteTokenIDs[Int(piece[0])] >= 0 {
            ids.append(byteTokenIDs[Int(piece[0])])
            return
        }
        let key = String(decoding: piece, as: UTF8.self)
        if let cached = pieceCache.tokens(for: key) {
            ids.append(contentsOf: cached)
            return
        }
        let start = ids.count
        encoder.encode(piece, byteTokenIDs: byteTokenIDs, merges: merges, into: &ids)
        pieceCache.insert(Array(ids[start...]), for: key)
    }
}
