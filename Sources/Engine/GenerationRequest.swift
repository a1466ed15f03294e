import Foundation
import Sampling

/// One request: prompt tokens, how to sample, when to stop, how many samples.
public struct GenerationRequest: Sendable {
    public var promptTokens: [Int32]
    public var sampling: SamplingParameters
    public var stop: StopConditions
    /// Samples of the prompt (n > 1 forks the sequence after the prompt, sharing its pages).
    public var sampleCount: Int

    public init(promptTokens: [Int32], sampling: SamplingParameters = .greedy, stop: StopConditions = .init(), sampleCount: Int = 1) {
        self.promptTokens = promptTokens
        self.sampling = sampling
        self.stop = stop
        self.sampleCount = sampleCount
    }
}

/// What a request's stream yields: each new token of one sample, with its text.
public struct GenerationEvent: Sendable {
    /// Which sample (0 ..< sampleCount).
    public var sample: Int
    /// The token, or nil on a final event that carries no token (a stop token is not shown).
    public var token: Int32?
    /// Text completed by this token (empty while a multi-byte character is incomplete).
    public var text: String
    /// Set on a sample's last event.
    public var finishReason: StopConditions.Reason?
    /// Set on a sample's last event.
    public var stats: GenerationStats?
}

/// Timings and counts of one sample.
public struct GenerationStats: Sendable, Hashable, Codable {
    public var promptTokenCount: Int
    /// Leading prompt tokens served from the prefix cache.
    public var cachedPromptTokenCount: Int
    public var generatedTokenCount: Int
    /// From submission to the first generated token.
    public var timeToFirstToken: Double
    /// From submission to the last token.
    public var totalTime: Double
    /// Prompt tokens computed per second (from submission to the first token).
    public var prefillTokensPerSecond: Double {
        timeToFirstToken > 0 ? Double(promptTokenCount - cachedPromptTokenCount) / timeToFirstToken : 0
    }
    /// Tokens generated per second after the first.
    public var decodeTokensPerSecond: Double {
        let t = totalTime - timeToFirstToken
        return t > 0 && generatedTokenCount > 1 ? Double(generatedTokenCount - 1) / t : 0
    }
}

/// A snapshot of the engine: requests, KV memory and its waste, prefix hits, throughput.
public struct EngineUsage: Sendable, Hashable, Codable, CustomStringConvertible {
    public var runningSequences: Int
    public var waitingSequences: Int
    public var kvMode: String
    public var tokensPerPage: Int
    public var pageCount: Int
    public var usedPageCount: Int
    public var kvBytesInUse: Int
    public var kvMinimumBytes: Int
    public var kvWasteBytes: Int
    public var kvWastePercent: Double
    public var prefixCacheHits: Int
    public var prefixCacheMisses: Int
    public var prefixCacheHitPercent: Double
    public var preemptions: Int
    /// The fullest moment since the engine started: the most KV bytes in use at the end of a
    /// step, and the theoretical minimum at that moment (a reader polling `usage()` may miss a
    /// short run; the high-water mark does not).
    public var peakKVBytesInUse: Int
    public var peakKVMinimumBytes: Int
    public var generatedTokens: Int
    public var tokensPerSecond: Double

    public var description: String {
        """
        requests: \(runningSequences) running, \(waitingSequences) waiting; \
        KV (\(kvMode), \(tokensPerPage) tokens/page): \(usedPageCount)/\(pageCount) pages, \
        \(kvBytesInUse) bytes in use, minimum \(kvMinimumBytes), waste \(kvWasteBytes) bytes \
        (\(String(format: "%.2f", kvWastePercent))%); prefix cache: \(prefixCacheHits) hits, \
        \(prefixCacheMisses) misses (\(String(format: "%.1f", prefixCacheHitPercent))%); \
        preemptions: \(preemptions); \(generatedTokens) tokens generated, \(String(format: "%.1f", tokensPerSecond)) tok/s
        """
    }
}
