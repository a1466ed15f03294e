import Foundation
import Sampling

/// One request: prompt tokens, how to sample, when to stop, how many samples.
public struct GenerationRequest: Sendable {
    public var promptTokens: [Int32]
    public var sampling: SamplingParameters
    public var stop: StopConditions
    /// Samples of the prompt (n > 1 forks the sequence after the prompt, sharing its pages).
    public var sampleCount: Int
    /// Log-probabilities to report with each generated token: nil for none, k ≥ 0 for the chosen
    /// token's and the k most likely alternatives' (of the model's distribution, before sampling).
    public var logprobCount: Int?

    public init(
        promptTokens: [Int32], sampling: SamplingParameters = .greedy, stop: StopConditions = .init(), sampleCount: Int = 1,
        logprobCount: Int? = nil
    ) {
        self.promptTokens = promptTokens
        self.sampling = sampling
        self.stop = stop
        self.sampleCount = sampleCount
        self.logprobCount = logprobCount
    }

    /// The most alternatives ``logprobCount`` may ask for.
    public static let maxLogprobCount = 20
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
    /// The token's log-probability and the top alternatives, when the request asked for them.
    public var logprob: TokenLogprob?
}

/// A generated token's log-probability under the model, and the most likely tokens at its place.
public struct TokenLogprob: Sendable, Hashable {
    public var token: Int32
    public var logprob: Float
    /// The most likely tokens, most likely first (as many as the request asked for).
    public var top: [Alternative]

    public struct Alternative: Sendable, Hashable {
        public var token: Int32
        public var logprob: Float
    }
}

/// Timings and counts of one sample, and the KV memory its request held.
public struct GenerationStats: Sendable, Hashable, Codable {
    public var promptTokenCount: Int
    /// Leading prompt tokens served from the prefix cache.
    public var cachedPromptTokenCount: Int
    public var generatedTokenCount: Int
    /// From submission to the first generated token.
    public var timeToFirstToken: Double
    /// From submission to the last token.
    public var totalTime: Double
    /// What the request held and suffered (all its samples together), up to this event.
    public var accounting = RequestAccounting()
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

/// The KV memory one request held and what the scheduler did to it: what no aggregate counter
/// shows per request. Pages are counted once however many of the request's samples hold them.
public struct RequestAccounting: Sendable, Hashable, Codable {
    /// The most pages the request held at the end of a step.
    public var peakPageCount = 0
    /// The most of its pages at once that it did not compute itself: served by the prefix cache
    /// or shared with another sequence (a fork, a common prefix).
    public var peakSharedPageCount = 0
    /// `peakPageCount` in bytes.
    public var peakKVBytes = 0
    /// Bytes of empty slots in its partial last pages, at its last step.
    public var partialPageWasteBytes = 0
    /// Times one of its sequences was preempted (pages taken back, recomputed later).
    public var preemptionCount = 0
    /// From submission to its first step (waiting for admission).
    public var queueTime: Double = 0

    public init() {}
}
