import Engine

/// Memory of one run of the length sweep against the theoretical minimum.
public struct MemoryPoint: Sendable, Hashable, Codable {
    public var mode: KVMode
    /// Tokens stored at the fullest moment (prompt and generated).
    public var tokens: Int
    /// The keys and values of those tokens, and nothing else: tokens × bytes per token.
    public var kvMinimumBytes: Int
    /// On a model with sliding-window layers, the part of that minimum its layers can still
    /// read: each window layer only its last `window` positions (what a cache that gives the
    /// rest back must keep). Nil when every layer attends to the whole sequence.
    public var kvReachableBytes: Int?
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

    /// KV memory held over what the layers can still read (``kvReachableBytes``), in percent.
    public var kvOverReachablePercent: Double? {
        kvReachableBytes.map { $0 > 0 ? 100 * Double(kvBytesInUse - $0) / Double($0) : .nan }
    }
}
