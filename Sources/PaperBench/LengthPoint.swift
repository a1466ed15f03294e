import Engine

/// One run of the length sweep: one prompt length in one KV mode, on a fresh engine. Both the
/// latency and the memory experiments read these.
public struct LengthPoint: Sendable, Hashable, Codable {
    public var mode: KVMode
    /// Tokens per page (the context, rounded up to a power of two, for the contiguous and
    /// no-cache modes: one page per sequence).
    public var tokensPerPage: Int
    public var promptTokens: Int
    public var generatedTokens: Int
    /// Submission to the first generated token: the prefill of the whole prompt.
    public var timeToFirstTokenSeconds: Double
    /// The mean gap between generated tokens.
    public var decodeSecondsPerToken: Double
    /// The process's CPU seconds for the prefill, and per generated token: the same work with
    /// the time other processes took from this one left out.
    public var prefillCPUSeconds: Double
    public var decodeCPUSecondsPerToken: Double
    /// KV bytes the engine's books held at the fullest moment, and the minimum for the tokens
    /// stored then.
    public var kvBytesInUse: Int
    public var kvMinimumBytes: Int
    /// The process's resident memory at its peak during the run, and just before it.
    public var peakResidentBytes: Int
    public var residentBeforeBytes: Int
}
