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
    /// The median gap between generated tokens: the steady-state per-token latency (a burst of
    /// load from other processes on this shared machine moves the mean far more).
    public var decodeSecondsPerToken: Double
    /// The mean gap (the paper's definition).
    public var decodeMeanSecondsPerToken: Double
    /// The process's CPU seconds for the prefill, and the median per generated token: the same
    /// work with most of the time other processes took from this one left out.
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
