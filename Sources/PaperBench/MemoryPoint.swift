import Engine

/// Memory of one run of the length sweep against the theoretical minimum.
public struct MemoryPoint: Sendable, Hashable, Codable {
    public var mode: KVMode
    /// Tokens stored at the fullest moment (prompt and generated).
    public var tokens: Int
    /// The keys and values of those tokens, and nothing else: tokens × bytes per token.
    public var kvMinimumBytes: Int
    /// What the KV cache's books held for them (whole pages).
    public var kvBytesInUse: Int
    /// The process's peak resident memory during the run (weights, activations, KV), and its
    /// resident memory just before the run (the engine made, the allocator trimmed).
    public var peakResidentBytes: Int
    public var residentBeforeBytes: Int

    /// KV memory held beyond the minimum, in percent of the minimum (the paper's "memory
    /// overhead"): 0 is no waste.
    public var kvOverheadPercent: Double {
        kvMinimumBytes > 0 ? 100 * Double(kvBytesInUse - kvMinimumBytes) / Double(kvMinimumBytes) : .nan
    }
}
