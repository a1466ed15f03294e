/// SplitMix64 (Steele, Lea and Flood; the `splitmix64.c` of Vigna's site): a tiny seeded
/// generator, and its finalizer ``mix(_:)``, a bijection on 64-bit words with full avalanche.
/// Written once here, the lowest target, for everything that needs it: the prefix cache's page
/// hash, seeded workloads (KV waste comparison, the attention benchmark), the sampler's
/// xoshiro256** seeding, the tests' random data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The finalizer: `z ^= z >> 30; z *= …; z ^= z >> 27; z *= …; z ^= z >> 31`.
    @inlinable
    public static func mix(_ word: UInt64) -> UInt64 {
        var z = word
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
