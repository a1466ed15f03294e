import Engine
import Sampling

/// One long generation in one KV mode: throughput in windows of tokens as the sequence grows.
public struct LongGenerationRun: Sendable, Hashable, Codable {
    public struct Window: Sendable, Hashable, Codable {
        /// The sequence length (prompt and generated) at the window's last token.
        public var endLength: Int
        public var tokensPerSecond: Double
        /// CPU milliseconds per generated token over the window.
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
