import PagedKVCache
import Sampling
import Scheduler
import Tokenizers

extension Engine {
    /// Streams `token` of sample `seq`: its text (held back while it may be the start of a stop
    /// string), and at a stop the sample's stats; a finished sample releases its pages now.
    func deliver(_ token: Int32, logprob: TokenLogprob?, to seq: SequenceID) {
        guard var sample = samples[seq], let request = requests[sample.requestID] else { return }
        let t = now()
        if sample.firstTokenTime == nil { sample.firstTokenTime = t - request.submitted }
        sample.generated += 1
        generatedTokenCount += 1
        let stop = request.request.stop
        var reason = stop.reason(after: token, generatedCount: sample.generated)
        var text = ""
        var emittedToken: Int32? = token
        if reason == .stopToken {
            emittedToken = nil
            text = sample.pendingText + sample.decoder.finish()
            sample.pendingText = ""
        } else {
            sample.pendingText += sample.decoder.append(token)
            if reason == nil && scheduler.tokens(of: seq).count + 1 >= bundle.model.configuration.contextLength {
                reason = .contextFull
            }
            if let cut = stop.stopStringRange(in: sample.pendingText) {
                text = String(sample.pendingText[..<cut.lowerBound])
                sample.pendingText = ""
                reason = .stopString
            } else if reason != nil {
                text = sample.pendingText + sample.decoder.finish()
                sample.pendingText = ""
            } else {
                // Hold back what could still grow into a stop string.
                let hold = holdBack(sample.pendingText, stop.stopStrings)
                text = String(sample.pendingText.dropLast(hold))
                sample.pendingText = String(sample.pendingText.suffix(hold))
            }
        }
        var event = GenerationEvent(
            sample: sample.index, token: emittedToken, text: text, finishReason: reason, stats: nil,
            logprob: emittedToken == nil ? nil : logprob)
        if let reason {
            event.stats = GenerationStats(
                promptTokenCount: request.request.promptTokens.count, cachedPromptTokenCount: sample.cachedPromptTokens ?? 0,
                generatedTokenCount: sample.generated, timeToFirstToken: sample.firstTokenTime ?? 0,
                totalTime: t - request.submitted, accounting: request.accounting)
            request.continuation.yield(event)
            samples[seq] = nil
            scheduler.remove(seq)
            request.liveSamples.remove(seq)
            if request.liveSamples.isEmpty {
                request.continuation.finish()
                requests[sample.requestID] = nil
            }
        } else {
            request.continuation.yield(event)
            samples[seq] = sample
            scheduler.append(token, to: seq)
        }
    }

    /// Characters at the end of `text` that are a proper prefix of some stop string.
    private func holdBack(_ text: String, _ stops: [String]) -> Int {
        var best = 0
        for stop in stops where !stop.isEmpty {
            for n in stride(from: min(stop.count - 1, text.count), to: best, by: -1)
            where text.hasSuffix(String(stop.prefix(n))) {
                best = n
                break
            }
        }
        return best
    }

    /// Ends request `id` with `error`, releasing the pages of all its samples now.
    func finishRequest(_ id: UInt64, error: any Error) {
        guard let request = requests.removeValue(forKey: id) else { return }
        if !request.started { queuedRequests.subtract(1, ordering: .relaxed) }
        for seq in request.liveSamples {
            scheduler.remove(seq)
            samples[seq] = nil
        }
        request.continuation.finish(throwing: error)
    }
}
