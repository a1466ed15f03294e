import FlexAttention
import Foundation
import Kernels
import Llama
import Locking
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
///
/// The loop's concerns live in their own files: admission (`Engine+Admission`), one step
/// (`Engine+Step`), delivery and stop handling (`Engine+Delivery`), per-request and engine-wide
/// accounting (`Engine+Accounting`).
public final class Engine: @unchecked Sendable {
    // @unchecked: everything below "Step loop state" is touched only by the loop thread; the
    // inbox and the published usage are behind mutexes, the queue count is atomic.
    public let bundle: ModelBundle
    public let configuration: EngineConfiguration
    /// The geometry of a page: `pageLayout.layerCount` is the layers of one layer group.
    public let pageLayout: PageLayout
    /// Which layers share a page table (one group unless the model has sliding-window layers
    /// and the mode is paged).
    public let layerGroups: KVLayerGroups
    /// The tokens a request can hold at most: the prompt plus generated tokens, in KV memory.
    public let kvTokenCapacity: Int

    // MARK: Inbox (any thread)

    typealias Continuation = AsyncThrowingStream<GenerationEvent, any Error>.Continuation

    struct Inbox {
        var submissions: [(UInt64, GenerationRequest, Continuation, Double)] = []
        var cancellations: [UInt64] = []
        var stopping = false
    }
    let inbox = Locked(Inbox())
    let wake = DispatchSemaphore(value: 0)
    private let nextRequestID = Atomic<UInt64>(1)
    /// Requests submitted whose first step has not come yet (in the inbox or waiting).
    let queuedRequests = Atomic<Int>(0)
    let publishedUsage: Locked<EngineUsage>
    private var thread: Thread?

    // MARK: Step loop state (the loop thread only)

    var scheduler: Scheduler
    let store: PagedKVStore
    let state: LlamaState
    var logits: [Float] = []
    var forwardBatch = ForwardBatch()
    var requests: [UInt64: RequestState] = [:]
    var samples: [SequenceID: SampleState] = [:]
    var nextSequenceID: UInt64 = 1
    var generatedTokenCount = 0
    var peakKV = (bytes: 0, minimum: 0)
    var busyTime: Double = 0
    /// What steps cost, measured (for the step-time target).
    var stepCost = StepCost()
    var prefixCacheQueryTokens = 0
    var prefixCacheHitTokens = 0

    public init(bundle: ModelBundle, configuration: EngineConfiguration = .init()) throws(EngineError) {
        self.bundle = bundle
        self.configuration = configuration
        let c = bundle.model.configuration
        let cache = try Self.makeCache(model: c, configuration: configuration)
        pageLayout = cache.layout
        layerGroups = cache.layerGroups
        kvTokenCapacity = cache.tokenCapacity
        let pageCount = cache.usage.pageCount
        scheduler = Scheduler(
            cache: cache,
            configuration: SchedulerConfiguration(
                maxBatchTokens: configuration.kvMode == .none ? max(configuration.maxBatchTokens, c.contextLength) : configuration.maxBatchTokens,
                maxRunningSequences: configuration.kvMode == .contiguous ? min(configuration.maxRunningSequences, pageCount) : configuration.maxRunningSequences,
                recomputeEveryStep: configuration.kvMode == .none))
        scheduler.prefillTokenLimit = configuration.prefillTokensPerStep
        store = PagedKVStore(layout: pageLayout, groups: layerGroups, shape: AttentionShape(queryHeadCount: c.headCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize))
        state = LlamaState(configuration: c, activationPrecision: configuration.activationPrecision)
        // The 8-bit path's interleaved weights, made now rather than in the first request's TTFT.
        if configuration.activationPrecision == .q8 { _ = bundle.model.eightBitWeights }
        if configuration.profileForward { state.profile = ForwardProfile() }
        state.usesArgmaxShadow = configuration.argmaxShadow
        // The output matrix's shadow too (Gemma 3: 115 MB, a few tenths of a second).
        if configuration.argmaxShadow { _ = bundle.model.outputShadow }
        publishedUsage = Locked(EngineUsage(
            runningSequences: 0, waitingSequences: 0, kvMode: configuration.kvMode, tokensPerPage: pageLayout.tokensPerPage,
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

    /// Stops the step loop; requests still running end with ``EngineError/engineStopped``, and
    /// so does every request submitted after it. Call it when done: the loop thread keeps the
    /// engine alive until then.
    public func shutdown() {
        inbox.withLock { $0.stopping = true }
        wake.signal()
    }

    /// Requests submitted that have not had their first step yet (queued for admission).
    public var queuedRequestCount: Int { queuedRequests.load(ordering: .relaxed) }

    /// Starts `request`; its tokens arrive on the returned stream. Cancelling the stream (or its
    /// task) removes the request and frees its pages. After ``shutdown()`` the stream finishes at
    /// once with ``EngineError/engineStopped``.
    public func submit(_ request: GenerationRequest) -> AsyncThrowingStream<GenerationEvent, any Error> {
        submit(request, maxQueued: nil)!
    }

    /// Starts `request` unless `maxQueued` requests already wait for their first step (then nil,
    /// and nothing is queued): load shedding without a race between the check and the queueing.
    public func submit(_ request: GenerationRequest, maxQueued: Int?) -> AsyncThrowingStream<GenerationEvent, any Error>? {
        if let maxQueued {
            var queued = queuedRequests.load(ordering: .relaxed)
            while true {
                guard queued < maxQueued else { return nil }
                let (exchanged, original) = queuedRequests.compareExchange(
                    expected: queued, desired: queued + 1, ordering: .relaxed)
                if exchanged { break }
                queued = original
            }
        } else {
            queuedRequests.add(1, ordering: .relaxed)
        }
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(id) }
        }
        let accepted = inbox.withLock { box in
            guard !box.stopping else { return false }
            box.submissions.append((id, request, continuation, now()))
            return true
        }
        guard accepted else {
            queuedRequests.subtract(1, ordering: .relaxed)
            continuation.finish(throwing: EngineError.engineStopped)
            return stream
        }
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
                stop(unadmitted: submissions)
                return
            }
            for (id, request, continuation, submitted) in submissions { admit(id, request, continuation, submitted: submitted) }
            for id in cancellations { finishRequest(id, error: EngineError.cancelled) }
            if scheduler.running.isEmpty && scheduler.waiting.isEmpty {
                precondition(requests.isEmpty, "requests without sequences: \(requests.keys)")
                publishUsage()
                wake.wait()
                continue
            }
            let start = now()
            let (decodes, prefill) = step()
            let elapsed = now() - start
            busyTime += elapsed
            measureStep(seconds: elapsed, decodes: decodes, prefill: prefill)
            publishUsage()
        }
    }

    /// Ends every request (running, waiting or still in the inbox) with
    /// ``EngineError/engineStopped``, releasing all their pages before the loop exits.
    private func stop(unadmitted submissions: [(UInt64, GenerationRequest, Continuation, Double)]) {
        for (_, _, continuation, _) in submissions {
            queuedRequests.subtract(1, ordering: .relaxed)
            continuation.finish(throwing: EngineError.engineStopped)
        }
        for id in Array(requests.keys) { finishRequest(id, error: EngineError.engineStopped) }
        precondition(
            scheduler.running.isEmpty && scheduler.waiting.isEmpty && samples.isEmpty,
            "the engine stopped with sequences still holding pages")
        publishUsage()
    }
}

/// Seconds on a monotonic clock.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

extension Engine {
    /// Why environment variables that tune the engine (`PAGEDFLEX_KERNELS`,
    /// `PAGEDFLEX_KV_PREFETCH`, `PAGEDFLEX_ATTENTION_PREFETCH`) were not honoured, for a command to warn about: each falls back to
    /// the machine's default.
    public static var environmentProblems: [String] {
        [KernelPath.environmentProblem, PagedKVStore.prefetchSetting.problem, AttentionPrefetch.problem].compactMap { $0 }
    }
}
