/// A small seeded generator (SplitMix64): the same seed gives the same numbers on every platform,
/// for reproducible workloads such as ``KVWasteComparison/paperMixedBatch(sequenceCount:lengths:seed:)``.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return PrefixCache.mix(state)
    }
}
