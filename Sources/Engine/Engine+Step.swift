import Foundation
import Llama
import PagedKVCache
import Sampling
import Scheduler
import Tokenizers

extension Engine {
    /// One step: schedule, one forward pass over the packed batch, sample, stream.
    ///
    /// Returns its decode tokens and its prompt tokens.
    ///
    /// Progress by construction: a step either computes at least one token or ends at least one
    /// request (the one the scheduler cannot place), so the loop cannot spin on an empty batch
    /// while sequences run or wait.
    func step() -> (decodes: Int, prefill: Int) {
        if let target = configuration.stepTimeTarget {
            scheduler.prefillTokenLimit = prefillTokenLimit(forStepTime: target)
        }
        let batch = scheduler.schedule()
        for victim in batch.preempted {
            if let owner = samples[victim], let request = requests[owner.requestID] { request.accounting.preemptionCount += 1 }
        }
        guard !batch.isEmpty else {
            failUnschedulable()
            return (0, 0)
        }
        let t = now()
        forwardBatch.removeAll()
        for entry in batch.entries {
            let tokens = scheduler.tokens(of: entry.id)
            let sample = samples[entry.id]
            forwardBatch.append(
                sequence: entry.id, tokens: tokens[entry.positions], cachedCount: entry.positions.lowerBound,
                wantLogits: entry.wantsLogits, largestLogits: sample.map { largestLogitsRead(by: $0) } ?? 0)
            guard let sample else { continue }
            if sample.cachedPromptTokens == nil {
                // The first time a sequence runs, what it skips came from the prefix cache.
                samples[entry.id]?.cachedPromptTokens = entry.positions.lowerBound
                if sample.index == 0 {
                    prefixCacheQueryTokens += tokens.count
                    prefixCacheHitTokens += entry.positions.lowerBound
                }
            }
            if let request = requests[sample.requestID], !request.started {
                request.started = true
                request.accounting.queueTime = t - request.submitted
                queuedRequests.subtract(1, ordering: .relaxed)
            }
        }
        store.prepare(batch: forwardBatch) { id, group, body in scheduler.withPageTable(of: id, group: group, body) }
        let model = bundle.model
        scheduler.withKVMemory { base in
            store.base = base
            model.forward(forwardBatch, kv: store, state: state, logits: &logits)
            store.base = nil
        }
        scheduler.complete(batch)
        account(batch)
        // Publish before streaming this step's tokens, so a consumer that reads the usage when
        // a token arrives sees the step that produced it (its sequence still holding its pages).
        publishUsage()

        let vocab = bundle.model.configuration.vocabularySize
        var row = 0
        for entry in batch.entries where entry.wantsLogits {
            defer { row += 1 }
            guard samples[entry.id] != nil else { continue }
            // The parent and the samples forked from it now all sample from this row.
            let group = [entry.id] + forkIfNeeded(entry.id)
            for seq in group {
                guard let owner = samples[seq], let request = requests[owner.requestID] else { continue }
                let (token, logprob) = logits.withUnsafeBufferPointer { all in
                    let rowLogits = UnsafeBufferPointer(rebasing: all[row * vocab..<(row + 1) * vocab])
                    let token = samples[seq]!.sampler.sample(rowLogits)
                    return (token, request.request.logprobCount.map { TokenLogprob(token, in: rowLogits, top: $0) })
                }
                deliver(token, logprob: logprob, to: seq)
            }
        }
        let decodes = batch.entries.reduce(0) { $0 + ($1.positions.count == 1 && $1.wantsLogits ? 1 : 0) }
        return (decodes, batch.tokenCount - decodes)
    }

    /// How many of its largest logits are all a sample reads (0: all of them): 1 when greedy, k
    /// under top-k (the sampler draws among those k alone), 0 when it asks for log-probabilities.
    /// Its children, forked from the same row, sample with the same parameters.
    private func largestLogitsRead(by sample: SampleState) -> Int {
        guard let request = requests[sample.requestID], request.request.logprobCount == nil else { return 0 }
        let parameters = sample.sampler.parameters
        if parameters.isGreedy { return 1 }
        return parameters.topK < bundle.model.configuration.vocabularySize ? parameters.topK : 0
    }

    /// Nothing could be scheduled although sequences run or wait: the head of the queue does
    /// not fit even alone (`add` refuses such requests up front, so this is a safety net). Ends
    /// the request the scheduler cannot place, so the next step differs from this one.
    private func failUnschedulable() {
        let before = requests.count
        let stuck = scheduler.waiting.first ?? scheduler.running.first
        if let stuck, let owner = samples[stuck] {
            finishRequest(owner.requestID, error: EngineError.exceedsKVBudget(
                tokenCount: scheduler.tokens(of: stuck).count, budgetTokens: scheduler.tokenCapacity))
        } else if let stuck {
            scheduler.remove(stuck)  // a sequence no request owns: drop it
        }
        precondition(
            requests.count < before || stuck.map { !scheduler.contains($0) } == true,
            "an empty step that ended nothing: the loop would spin")
    }

    /// For a request with n > 1 samples, forks its sequence once its prompt is computed, and
    /// returns the children that share its pages (and so its logits) now.
    private func forkIfNeeded(_ parent: SequenceID) -> [SequenceID] {
        guard let owner = samples[parent], let request = requests[owner.requestID], !request.forked else { return [] }
        request.forked = true
        var forked: [SequenceID] = []
        for index in 1..<max(1, request.request.sampleCount) {
            let child = SequenceID(rawValue: nextSequenceID)
            nextSequenceID += 1
            var parameters = request.request.sampling
            parameters.seed = parameters.seed.map { $0 &+ UInt64(index) }
            samples[child] = SampleState(
                requestID: owner.requestID, index: index, sampler: Sampler(parameters: parameters),
                decoder: StreamingDecoder(tokenizer: bundle.tokenizer), cachedPromptTokens: owner.cachedPromptTokens)
            request.liveSamples.insert(child)
            if scheduler.fork(parent, into: child) {
                forked.append(child)
            } else {
                // No page for the copied partial page now: queue the child to recompute its
                // prompt (mostly from the prefix cache) and sample from its own logits.
                try? scheduler.add(child, tokens: scheduler.tokens(of: parent))
            }
        }
        return forked
    }

    /// The prompt tokens a step may carry beside the running decodes so that it takes about
    /// `target` seconds: what is left of the target after a decode step's measured time, at the
    /// measured marginal cost of a prompt token (at least one page's worth, so prefills always
    /// progress). Nil until a step with prompt tokens has been measured.
    func prefillTokenLimit(forStepTime target: Double) -> Int? {
        guard let perToken = stepCost.secondsPerPrefillToken, perToken > 0 else { return nil }
        let left = target - (stepCost.decodeStepSeconds ?? 0)
        let tokens = left > 0 ? Int(left / perToken) : 0
        return max(pageLayout.tokensPerPage, min(tokens, configuration.maxBatchTokens))
    }

    /// Updates the step-cost model from a step of `decodes` decode tokens and `prefill` prompt
    /// tokens that took `seconds` (averages over recent steps).
    func measureStep(seconds: Double, decodes: Int, prefill: Int) {
        func average(_ old: Double?, _ new: Double) -> Double { old.map { 0.7 * $0 + 0.3 * new } ?? new }
        if prefill == 0 {
            if decodes > 0 { stepCost.decodeStepSeconds = average(stepCost.decodeStepSeconds, seconds) }
        } else {
            let decodePart = decodes > 0 ? (stepCost.decodeStepSeconds ?? 0) : 0
            let marginal = max(seconds - decodePart, seconds * 0.25) / Double(prefill)
            stepCost.secondsPerPrefillToken = average(stepCost.secondsPerPrefillToken, marginal)
        }
    }
}

/// What a step costs on this engine, measured as it runs (for the step-time target).
struct StepCost {
    /// A step of decodes alone.
    var decodeStepSeconds: Double?
    /// One more prompt token in a step.
    var secondsPerPrefillToken: Double?
}

extension TokenLogprob {
    /// The log-probability of `token` under the softmax of `logits`, and the `top` most likely
    /// tokens (ties to the lower id).
    init(_ token: Int32, in logits: UnsafeBufferPointer<Float>, top: Int) {
        let maxLogit = logits.max() ?? 0
        var sum = 0.0
        for l in logits { sum += Double(Foundation.exp(l - maxLogit)) }
        let logSum = Float(Foundation.log(sum)) + maxLogit
        var best: [Alternative] = []
        if top > 0 {
            best.reserveCapacity(top + 1)
            for (i, l) in logits.enumerated() where best.count < top || l > best[best.count - 1].logprob {
                let candidate = Alternative(token: Int32(i), logprob: l)
                let at = best.firstIndex { $0.logprob < l } ?? best.count
                best.insert(candidate, at: at)
                if best.count > top { best.removeLast() }
            }
            for i in best.indices { best[i].logprob -= logSum }
        }
        self.init(token: token, logprob: logits[Int(token)] - logSum, top: best)
    }
}
