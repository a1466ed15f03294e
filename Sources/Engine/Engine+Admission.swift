import FlexAttention
import Llama
import PagedKVCache
import Sampling
import Scheduler
import Tokenizers

extension Engine {
    /// The KV cache `configuration` asks for: its page geometry (pages as long as the context,
    /// rounded up to a power of two, for the contiguous and no-cache modes), its storage sized by
    /// the budget, prefix caching only in paged mode.
    static func makeCache(model c: LlamaConfiguration, configuration: EngineConfiguration) throws(EngineError) -> KVCacheManager {
        let tokensPerPage = configuration.kvMode == .paged
            ? configuration.tokensPerPage : 1 << (Int.bitWidth - (c.contextLength - 1).leadingZeroBitCount)
        // Paged mode: a page table per layer group, so the sliding-window layers' pages can go
        // back while the sequence lives. The contiguous baseline keeps one buffer of every layer.
        let groups = configuration.kvMode == .paged
            ? KVLayerGroups(layerCount: c.layerCount, windowLength: c.slidingWindow(layer:))
            : .single(layerCount: c.layerCount)
        let layout: PageLayout
        do {
            layout = try PageLayout(
                tokensPerPage: tokensPerPage, layerCount: groups.layersPerGroup, kvHeadCount: c.kvHeadCount,
                headSize: c.headSize, elementType: configuration.kvElementType)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        let budgetBytes: Int
        switch configuration.kvMemory {
        case .bytes(let b): budgetBytes = b
        // A token of the model: one page row in every group.
        case .tokens(let t):
            let (perToken, o1) = layout.bytesPerToken.multipliedReportingOverflow(by: groups.groupCount)
            let (bytes, o2) = t.multipliedReportingOverflow(by: perToken)
            guard !o1, !o2, t >= 0 else { throw .invalidConfiguration("a KV budget of \(t) tokens is more than any machine's memory") }
            budgetBytes = bytes
        }
        let storage: PageStorage
        do { storage = try PageStorage(layout: layout, byteBudget: budgetBytes) } catch {
            throw .invalidConfiguration("KV budget (\(configuration.kvMode) mode): \(error)")
        }
        return KVCacheManager(
            storage: storage, prefixCaching: configuration.prefixCaching && configuration.kvMode == .paged,
            maxTokensPerSequence: c.contextLength, layerGroups: groups,
            windowReleaseAlignment: configuration.kvMode == .paged && configuration.releasesWindowPages
                ? AttentionTiling.kvTileLength : nil)
    }

    /// Why `request` cannot run on this engine, if it cannot (checked again by the loop; callers
    /// such as a server check first to answer with the reason before streaming).
    public func validate(_ request: GenerationRequest) throws(EngineError) {
        let c = bundle.model.configuration
        try request.validate(contextLength: c.contextLength, vocabularySize: c.vocabularySize)
        let reserved = min(request.promptTokens.count + request.stop.maxTokens, c.contextLength)
        if configuration.kvMode != .contiguous && reserved > kvTokenCapacity {
            throw .exceedsKVBudget(tokenCount: reserved, budgetTokens: kvTokenCapacity)
        }
    }

    func admit(_ id: UInt64, _ request: GenerationRequest, _ continuation: Continuation, submitted: Double) {
        let c = bundle.model.configuration
        do throws(EngineError) {
            try validate(request)
            let reserved = min(request.promptTokens.count + request.stop.maxTokens, c.contextLength)
            let seq = SequenceID(rawValue: nextSequenceID)
            do {
                try scheduler.add(seq, tokens: request.promptTokens, reservedTokenCount: configuration.kvMode == .contiguous ? nil : reserved)
            } catch {
                throw .exceedsKVBudget(tokenCount: reserved, budgetTokens: scheduler.tokenCapacity)
            }
            nextSequenceID += 1
            let state = RequestState(request: request, continuation: continuation, submitted: submitted)
            state.liveSamples.insert(seq)
            requests[id] = state
            samples[seq] = SampleState(
                requestID: id, index: 0, sampler: Sampler(parameters: request.sampling),
                decoder: StreamingDecoder(tokenizer: bundle.tokenizer))
        } catch {
            queuedRequests.subtract(1, ordering: .relaxed)
            continuation.finish(throwing: error)
        }
    }
}

extension GenerationRequest {
    /// Why this request cannot run on a model with `contextLength` tokens of context and
    /// `vocabularySize` token ids, if it cannot: what ``Engine/validate(_:)`` checks before the
    /// KV budget (the request fuzzer holds the server's parser to it without an engine).
    public func validate(contextLength: Int, vocabularySize: Int) throws(EngineError) {
        guard !promptTokens.isEmpty else { throw .emptyPrompt }
        guard promptTokens.count < contextLength else {
            throw .promptTooLong(tokenCount: promptTokens.count, contextLength: contextLength)
        }
        if let bad = promptTokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw .invalidToken(bad, vocabularySize: vocabularySize)
        }
        do { try sampling.validate() } catch { throw .invalidSampling(error) }
        guard sampleCount >= 1 else { throw .invalidConfiguration("the sample count must be at least 1") }
        guard stop.maxTokens >= 1 else { throw .invalidConfiguration("max tokens must be at least 1") }
        if let k = logprobCount, !(0...Self.maxLogprobCount).contains(k) {
            throw .invalidConfiguration("logprobs must be from 0 to \(Self.maxLogprobCount), got \(k)")
        }
    }
}
