import FlexAttention
import Foundation
import Kernels
import Llama
import PagedKVCache
import Sampling
import Scheduler
import Synchronization
import Tokenizers

/// Serves generation requests on one model: continuous batching over the paged KV cache.
///
/// ```
///  submit(request) ──► inbox ──► step loop (one thread owns the scheduler, the cache, the model's
///                                scratch): schedule → forward (packed batch) → sample → stream
///  stream ◄── GenerationEvent per token; cancelling the stream removes its sequences (pages
///             freed) at the start of the next step
/// ```
public final class Engine: @unchecked Sendable {
    // @unchecked: everything below "Step loop state" is touched only by the loop thread; the
    // inbox and the published usage are behind mutexes.
    public let bundle: ModelBundle
    public let configuration: EngineConfiguration
    public let pageLayout: PageLayout

    // MARK: Inbox (any thread)

    private struct Inbox {
        var submissions: [(UInt64, GenerationRequest, AsyncThrowingStream<GenerationEvent, any Error>.Continuation)] = []
        var cancellations: [UInt64] = []
        var stopping = false
    }
    private let inbox = Mutex(Inbox())
    private let wake = DispatchSemaphore(value: 0)
    private let nextRequestID = Atomic<UInt64>(1)
    private let publishedUsage: Mutex<EngineUsage>
    private var thread: Thread?

    // MARK: Step loop state (the loop thread only)

    private var scheduler: Scheduler
    private let store: PagedKVStore
    private let state: LlamaState
    private var logits: [Float] = []
    private var forwardBatch = ForwardBatch()
    private var requests: [UInt64: RequestState] = [:]
    private var samples: [SequenceID: SampleState] = [:]
    private var nextSequenceID: UInt64 = 1
    private var generatedTokenCount = 0
    private var peakKV = (bytes: 0, minimum: 0)
    private var busyTime: Double = 0

    final class RequestState {
        let request: GenerationRequest
        let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
        let submitted: Double
        var liveSamples: Set<SequenceID> = []
        var forked = false
        init(request: GenerationRequest, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation, submitted: Double) {
            self.request = request
            self.continuation = continuation
            self.submitted = submitted
        }
    }

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

    public init(bundle: ModelBundle, configuration: EngineConfiguration = .init()) throws(EngineError) {
        self.bundle = bundle
        self.configuration = configuration
        let c = bundle.model.configuration
        let cache = try Self.makeCache(model: c, configuration: configuration)
        pageLayout = cache.layout
        let pageCount = cache.usage.pageCount
        let tokensPerPage = pageLayout.tokensPerPage
        scheduler = Scheduler(
            cache: cache,
            configuration: SchedulerConfiguration(
                maxBatchTokens: configuration.kvMode == .none ? max(configuration.maxBatchTokens, c.contextLength) : configuration.maxBatchTokens,
                maxRunningSequences: configuration.kvMode == .contiguous ? min(configuration.maxRunningSequences, pageCount) : configuration.maxRunningSequences,
                recomputeEveryStep: configuration.kvMode == .none))
        store = PagedKVStore(layout: pageLayout, shape: AttentionShape(queryHeadCount: c.headCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize))
        state = LlamaState(configuration: c, activationPrecision: configuration.activationPrecision)
        publishedUsage = Mutex(EngineUsage(
            runningSequences: 0, waitingSequences: 0, kvMode: configuration.kvMode.rawValue, tokensPerPage: tokensPerPage,
            pageCount: pageCount, usedPageCount: 0, kvBytesInUse: 0, kvMinimumBytes: 0, kvWasteBytes: 0, kvWastePercent: 0,
            prefixCacheHits: 0, prefixCacheMisses: 0, prefixCacheHitPercent: 0, preemptions: 0,
            peakKVBytesInUse: 0, peakKVMinimumBytes: 0, generatedTokens: 0, tokensPerSecond: 0))
        // The loop holds the engine until `shutdown()` ends it, so the engine cannot be freed
        // under its own thread.
        let thread = Thread { self.loop() }
        thread.stackSize = 16 << 20
        thread.name = "pagedflex-engine"
        self.thread = thread
        thread.start()
    }

    /// The KV cache `configuration` asks for: its page geometry (pages as long as the context,
    /// rounded up to a power of two, for the contiguous and no-cache modes), its storage sized by
    /// the budget, prefix caching only in paged mode.
    static func makeCache(model c: LlamaConfiguration, configuration: EngineConfiguration) throws(EngineError) -> KVCacheManager {
        let tokensPerPage = configuration.kvMode == .paged
            ? configuration.tokensPerPage : 1 << (Int.bitWidth - (c.contextLength - 1).leadingZeroBitCount)
        let layout: PageLayout
        do {
            layout = try PageLayout(
                tokensPerPage: tokensPerPage, layerCount: c.layerCount, kvHeadCount: c.kvHeadCount,
                headSize: c.headSize, elementType: configuration.kvElementType)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        let budgetBytes: Int
        switch configuration.kvMemory {
        case .bytes(let b): budgetBytes = b
        case .tokens(let t): budgetBytes = t * layout.bytesPerToken
        }
        let storage: PageStorage
        do { storage = try PageStorage(layout: layout, byteBudget: budgetBytes) } catch {
            throw .invalidConfiguration("KV budget (\(configuration.kvMode) mode): \(error)")
        }
        return KVCacheManager(
            storage: storage, prefixCaching: configuration.prefixCaching && configuration.kvMode == .paged,
            maxTokensPerSequence: c.contextLength)
    }

    /// Stops the step loop; requests still running end with ``EngineError/engineStopped``. Call it
    /// when done: the loop thread keeps the engine alive until then.
    public func shutdown() {
        inbox.withLock { $0.stopping = true }
        wake.signal()
    }

    /// The tokens a request can hold at most: the prompt plus generated tokens, in KV memory.
    public var kvTokenCapacity: Int {
        publishedUsage.withLock { $0.pageCount } * pageLayout.tokensPerPage
    }

    /// Starts `request`; its tokens arrive on the returned stream. Cancelling the stream (or its
    /// task) removes the request and frees its pages.
    public func submit(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(id) }
        }
        inbox.withLock { $0.submissions.append((id, request, continuation)) }
        wake.signal()
        return stream
    }

    private func cancel(_ id: UInt64) {
        inbox.withLock { $0.cancellations.append(id) }
        wake.signal()
    }

    /// The latest snapshot (updated after every step).
    public func usage() -> EngineUsage { publishedUsage.withLock { $0 } }

    // MARK: The step loop

    private func loop() {
        while true {
            let (submissions, cancellations, stopping) = inbox.withLock { box in
                defer { box.submissions.removeAll(); box.cancellations.removeAll() }
                return (box.submissions, box.cancellations, box.stopping)
            }
            if stopping {
                for (_, _, continuation) in submissions { continuation.finish(throwing: EngineError.engineStopped) }
                for request in requests.values { request.continuation.finish(throwing: EngineError.engineStopped) }
                return
            }
            for (id, request, continuation) in submissions { admit(id, request, continuation) }
            for id in cancellations { finishRequest(id, error: EngineError.cancelled) }
            if scheduler.running.isEmpty && scheduler.waiting.isEmpty {
                publishUsage()
                wake.wait()
                continue
            }
            let start = now()
            step()
            busyTime += now() - start
            publishUsage()
        }
    }

    private func admit(_ id: UInt64, _ request: GenerationRequest, _ continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation) {
        let c = bundle.model.configuration
        do throws(EngineError) {
            guard !request.promptTokens.isEmpty else { throw .emptyPrompt }
            guard request.promptTokens.count < c.contextLength else {
                throw .promptTooLong(tokenCount: request.promptTokens.count, contextLength: c.contextLength)
            }
            if let bad = request.promptTokens.first(where: { $0 < 0 || Int($0) >= c.vocabularySize }) {
                throw .invalidToken(bad, vocabularySize: c.vocabularySize)
            }
            do { try request.sampling.validate() } catch { throw .invalidSampling(error) }
            guard request.sampleCount >= 1 else { throw .invalidConfiguration("the sample count must be at least 1") }
            guard request.stop.maxTokens >= 1 else { throw .invalidConfiguration("max tokens must be at least 1") }
            let reserved = min(request.promptTokens.count + request.stop.maxTokens, c.contextLength)
            let seq = SequenceID(rawValue: nextSequenceID)
            do {
                try scheduler.add(seq, tokens: request.promptTokens, reservedTokenCount: configuration.kvMode == .contiguous ? nil : reserved)
            } catch {
                throw .exceedsKVBudget(tokenCount: reserved, budgetTokens: scheduler.tokenCapacity)
            }
            nextSequenceID += 1
            let state = RequestState(request: request, continuation: continuation, submitted: now())
            state.liveSamples.insert(seq)
            requests[id] = state
            samples[seq] = SampleState(
                requestID: id, index: 0, sampler: Sampler(parameters: request.sampling),
                decoder: StreamingDecoder(tokenizer: bundle.tokenizer))
        } catch {
            continuation.finish(throwing: error)
        }
    }

    private func step() {
        let batch = scheduler.schedule()
        guard !batch.isEmpty else {
            // Nothing could be scheduled although sequences wait: the head of the queue does not
            // fit even alone. `add` refuses such requests, so this is a safety net.
            if let stuck = scheduler.waiting.first, scheduler.running.isEmpty, let owner = samples[stuck] {
                finishRequest(owner.requestID, error: EngineError.exceedsKVBudget(
                    tokenCount: scheduler.tokens(of: stuck).count, budgetTokens: scheduler.tokenCapacity))
            }
            return
        }
        forwardBatch.removeAll()
        for entry in batch.entries {
            let tokens = scheduler.tokens(of: entry.id)
            forwardBatch.append(
                sequence: entry.id, tokens: tokens[entry.positions], cachedCount: entry.positions.lowerBound,
                wantLogits: entry.wantsLogits)
            if samples[entry.id]?.cachedPromptTokens == nil {
                // The first time a sequence runs, what it skips came from the prefix cache.
                samples[entry.id]?.cachedPromptTokens = entry.positions.lowerBound
            }
        }
        store.prepare(batch: forwardBatch) { id, body in scheduler.withPageTable(of: id, body) }
        let model = bundle.model
        scheduler.withKVMemory { base in
            store.base = base
            model.forward(forwardBatch, kv: store, state: state, logits: &logits)
            store.base = nil
        }
        scheduler.complete(batch)
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
                let token = logits.withUnsafeBufferPointer { all in
                    samples[seq]!.sampler.sample(UnsafeBufferPointer(rebasing: all[row * vocab..<(row + 1) * vocab]))
                }
                deliver(token, to: seq)
            }
        }
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

    private func deliver(_ token: Int32, to seq: SequenceID) {
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
        var event = GenerationEvent(sample: sample.index, token: emittedToken, text: text, finishReason: reason, stats: nil)
        if let reason {
            event.stats = GenerationStats(
                promptTokenCount: request.request.promptTokens.count, cachedPromptTokenCount: sample.cachedPromptTokens ?? 0,
                generatedTokenCount: sample.generated, timeToFirstToken: sample.firstTokenTime ?? 0,
                totalTime: t - request.submitted)
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

    private func finishRequest(_ id: UInt64, error: any Error) {
        guard let request = requests.removeValue(forKey: id) else { return }
        for seq in request.liveSamples {
            scheduler.remove(seq)
            samples[seq] = nil
        }
        request.continuation.finish(throwing: error)
    }

    private func publishUsage() {
        let u = scheduler.cache.usage
        if (u.bytesInUse, u.minimumBytes) > (peakKV.bytes, peakKV.minimum) { peakKV = (u.bytesInUse, u.minimumBytes) }
        let snapshot = EngineUsage(
            runningSequences: scheduler.running.count, waitingSequences: scheduler.waiting.count,
            kvMode: configuration.kvMode.rawValue, tokensPerPage: pageLayout.tokensPerPage, pageCount: u.pageCount,
            usedPageCount: u.usedPageCount, kvBytesInUse: u.bytesInUse, kvMinimumBytes: u.minimumBytes,
            kvWasteBytes: u.wasteBytes, kvWastePercent: u.wastePercent,
            prefixCacheHits: u.prefixCacheHitPageCount, prefixCacheMisses: u.prefixCacheMissPageCount,
            prefixCacheHitPercent: u.prefixCacheHitPercent, preemptions: scheduler.preemptionCount,
            peakKVBytesInUse: peakKV.bytes, peakKVMinimumBytes: peakKV.minimum, generatedTokens: generatedTokenCount, tokensPerSecond: busyTime > 0 ? Double(generatedTokenCount) / busyTime : 0)
        publishedUsage.withLock { $0 = snapshot }
    }
}

/// Seconds on a monotonic clock.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
