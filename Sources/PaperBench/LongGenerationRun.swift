import Engine
import Sampling

/// One long generation in one KV mode: throughput in windows of tokens as the sequence grows.
public struct LongGenerationRun: Sendable, Hashable, Codable {
    public struct Window: Sendable, Hashable, Codable {
        /// The sequence length (prompt and generated) at the window's last token.
        public var endLength: Int
        /// Tokens over the window's wall time (the paper's throughput).
        public var tokensPerSecond: Double
        /// The window's median gap between tokens: its steady state, with bursts of load from
        /// other processes left out.
        public var medianGapMilliseconds: Double
        /// The window's median CPU milliseconds per generated token.
        public var cpuMillisecondsPerToken: Double
    }

    public var mode: KVMode
    public var promptTokens: Int
    public var generatedTokens: Int
    public var finishReason: StopConditions.Reason?
    /// Generated tokens per second over the final window (the paper's steady-state throughput).
    public var finalWindowTokensPerSecond: Double
    public var windows: [Window]
    public var wallSeconds: Double
    public var peakResidentBytes: Int
    /// KV bytes held and the minimum at the end of the generation.
    public var kvBytesInUse: Int
    public var kvMinimumBytes: Int
}
