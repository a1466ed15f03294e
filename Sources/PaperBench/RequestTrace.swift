import Engine
import Sampling

/// What one request's stream showed: when it was submitted, when each generated token arrived
/// (on the caller's side of the stream, as a client sees it), its tokens and text, and the
/// engine's own stats.
public struct RequestTrace: Sendable {
    public var promptTokenCount: Int
    /// Seconds on the monotonic clock.
    public var submitted: Double
    /// The process's CPU seconds at submission.
    public var submittedCPU: Double
    /// Arrival time of each generated token, same clock.
    public var tokenTimes: [Double] = []
    /// The process's CPU seconds at each arrival: per-token CPU time, for runs with one request
    /// (with several, the process's time is theirs together).
    public var tokenCPUTimes: [Double] = []
    public var tokens: [Int32] = []
    public var text = ""
    public var stats: GenerationStats?
    public var finishReason: StopConditions.Reason?

    /// Time to first token: the engine's figure (submission to the first sampled token), else the
    /// first arrival.
    public var timeToFirstToken: Double {
        stats?.timeToFirstToken ?? (tokenTimes.first.map { $0 - submitted } ?? .nan)
    }

    /// Gaps between consecutive tokens: the per-token latency a client sees while decoding.
    public var interTokenGaps: [Double] { Statistics.gaps(tokenTimes) }

    /// CPU seconds between consecutive tokens.
    public var interTokenCPUGaps: [Double] { Statistics.gaps(tokenCPUTimes) }

    /// CPU seconds from submission to the first token (the prefill's CPU time).
    public var firstTokenCPUSeconds: Double { tokenCPUTimes.first.map { $0 - submittedCPU } ?? .nan }
}
