import SplitMix

/// The chained 64-bit page hash. Its quality only affects speed: ``PrefixCache`` verifies the
/// tokens and parent of every match, so a collision costs a miss, never wrong keys and values.
extension PrefixCache {
    /// The hash a sequence's first page chains from. Distinct salts give distinct roots (the
    /// mixer is a bijection), so sequences with different salts never share pages.
    @inlinable
    public static func rootHash(salt: UInt64) -> UInt64 {
        mix(salt ^ 0x5851_F42D_4C95_7F2D)
    }

    /// The hash of a page holding `tokens` whose predecessor's hash is `parentHash`.
    /// - Complexity: O(`tokens.count`).
    @inlinable
    public static func hash(parent parentHash: UInt64, tokens: UnsafeBufferPointer<UInt32>) -> UInt64 {
        var state = parentHash
        for token in tokens {
            state = (state ^ UInt64(token)) &* 0x9E37_79B9_7F4A_7C15
            state ^= state >> 32
        }
        return mix(state ^ UInt64(tokens.count))
    }

    /// The SplitMix64 finalizer: a bijection on 64-bit words with full avalanche.
    @inlinable
    static func mix(_ word: UInt64) -> UInt64 { SplitMix64.mix(word) }
}
