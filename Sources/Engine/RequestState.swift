import PagedKVCache
import Sampling
import Tokenizers

extension Engine {
    /// One submitted request in the step loop: its stream, its live samples, its accounting.
    final class RequestState {
        let request: GenerationRequest
        let continuation: Continuation
        let submitted: Double
        var liveSamples: Set<SequenceID> = []
        var forked = false
        /// Set at its first step; until then it counts in ``Engine/queuedRequests``.
        var started = false
        var accounting = RequestAccounting()
        init(request: GenerationRequest, continuation: Continuation, submitted: Double) {
            self.request = request
            self.continuation = continuation
            self.submitted = submitted
        }
    }

    /// One sample (one sequence) of a request.
    struct SampleState {
        let requestID: UInt64
        let index: Int
        var sampler: Sampler
        var decoder: StreamingDecoder
        var generated = 0
        /// Leading prompt tokens the prefix cache served (set when the sequence first runs).
        var cachedPromptTokens: Int?
        var firstTokenTime: Double?
        /// Text decoded but held back because it may be the start of a stop string.
        var pendingText = ""
    }
}
