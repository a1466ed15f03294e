import Engine

/// The mixed batch in one KV mode: throughput, latency percentiles, KV waste and how many
/// requests ran at once under the fixed budget.
public struct MixedBatchRun: Sendable, Hashable, Codable {
    public var mode: KVMode
    public var tokensPerPage: Int
    /// From the first submission to the last token of the last request.
    public var wallSeconds: Double
    /// CPU seconds the process used over the same span.
    public var cpuSeconds: Double
    public var promptTokens: Int
    public var generatedTokens: Int
    /// Generated tokens over the wall time (prefill included: what a client of the batch gets).
    public var generatedTokensPerSecond: Double
    /// Prompt and generated tokens computed per second of wall time.
    public var totalTokensPerSecond: Double
    public var timeToFirstToken: Percentiles
    /// Gaps between consecutive tokens of every request.
    public var perTokenLatency: Percentiles
    /// KV bytes held and the minimum for the tokens stored, at the fullest moment of the run.
    public var kvBytesInUse: Int
    public var kvMinimumBytes: Int
    public var peakResidentBytes: Int
    /// Resident memory just before the batch was submitted (the engine made).
    public var residentBeforeBytes: Int
    /// The most sequences running at once (admitted, prefilling or decoding).
    public var maxRunningSequences: Int
    public var preemptions: Int
    /// Time to first token of each request, in submission order.
    public var requestTimeToFirstToken: [Double]
    /// KV memory and running sequences over the run (at most a few hundred samples).
    public var timeline: [UsageSample]

    /// Bytes held beyond the minimum, in percent of the bytes held (the engine's waste figure).
    public var kvWastePercent: Double {
        kvBytesInUse > 0 ? 100 * Double(kvBytesInUse - kvMinimumBytes) / Double(kvBytesInUse) : .nan
    }
}
