/// The bytes every token stands for, decoded once at load time and stored back to back, so
/// decoding is a copy of byte ranges (no per-token arrays, no scalar mapping per call).
struct TokenBytes: Sendable {
    private let storage: [UInt8]
    /// `count + 1` entries: token `id` is `storage[offsets[id]..<offsets[id + 1]]`.
    private let offsets: [Int]

    /// Normal tokens are spelled in GPT-2's byte-level alphabet (``ByteLevel``) and must decode
    /// through it; every other type stands for its own UTF-8 text (`<|im_end|>` decodes to
    /// `<|im_end|>`, as in the reference outputs).
    init(tokens: [String], tokenTypes: [TokenType]) throws(TokenizerError) {
        var storage: [UInt8] = []
        var offsets: [Int] = [0]
        storage.reserveCapacity(tokens.count * 8)
        offsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            if tokenTypes[id] == .normal {
                guard let bytes = ByteLevel.bytes(for: token) else {
                    throw .tokenNotByteLevel(tokenID: Int32(id), token: token)
                }
                storage.append(contentsOf: bytes)
            } else {
                storage.append(contentsOf: token.utf8)
            }
            offsets.append(storage.count)
        }
        self.storage = storage
        self.offsets = offsets
    }

    /// The bytes of token `id`, which must be in the vocabulary.
    subscript(id: Int32) -> ArraySlice<UInt8> {
        storage[offsets[Int(id)]..<offsets[Int(id) + 1]]
    }
}
