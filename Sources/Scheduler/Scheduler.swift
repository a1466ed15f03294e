import PagedKVCache

/// How a ``Scheduler`` spends each step.
public struct SchedulerConfiguration: Sendable, Hashable {
    /// Tokens computed per step at most: every running sequence's next token first, then prompt
    /// chunks (chunked prefill) with what is left.
    public var maxBatchTokens: Int
    /// Sequences running at once at most.
    public var maxRunningSequences: Int
    /// Keep no KV cache between steps: every step recomputes each sequence from its first token
    /// (the `--kv none` baseline).
    public var recomputeEveryStep: Bool

    public init(maxBatchTokens: Int = 512, maxRunningSequences: Int = 64, recomputeEveryStep: Bool = false) {
        self.maxBatchTokens = max(1, maxBatchTokens)
        self.maxRunningSequences = max(1, maxRunningSequences)
        self.recomputeEveryStep = recomputeEveryStep
    }
}

/// Continuous batching over a paged KV cache.
///
/// Sequences wait in arrival order and run in admission order. Each ``schedule()``:
/// 1. gives every running sequence its next positions (one token when decoding, a chunk of its
///    prompt when prefilling), reserving their slots; when the pages run out, the most recently
///    admitted running sequence is preempted (its pages released, its tokens kept) and put at the
///    head of the queue, to be recomputed (prefix cache permitting) when pages free up;
/// 2. spends what is left of the token budget admitting waiting sequences, oldest first, when
///    their pages can be had (a prompt whose leading pages are in the prefix cache skips them).
///
/// One owner: the engine's step loop. Running out of pages is never an error here; a request
/// too large for the whole cache is refused by ``add(_:tokens:)``.
public struct Scheduler: ~Copyable {
    public let configuration: SchedulerConfiguration
    public private(set) var cache: KVCacheManager

    struct Record {
        var tokens: [Int32]
        /// Admission order of a running sequence (larger = more recent).
        var admission: Int
    }

    var records: [SequenceID: Record] = [:]
    /// Waiting sequences, next to admit first.
    public private(set) var waiting: [SequenceID] = []
    /// Running sequences in admission order.
    public private(set) var running: [SequenceID] = []
    var admissions = 0
    public private(set) var preemptionCount = 0
    /// Prompt tokens one step computes at most while some running sequence decodes (nil: the
    /// whole token budget). A step's time grows with its tokens, so this bounds the gap between
    /// two tokens of a running stream; the engine sets it before each step (from a fixed share or
    /// from a step-time target measured on the running engine).
    public var prefillTokenLimit: Int?

    public init(cache: consuming KVCacheManager, configuration: SchedulerConfiguration = .init()) {
        self.cache = cache
        self.configuration = configuration
    }

    /// The most tokens one sequence can ever hold: the whole pool (a page per layer group for
    /// every page's worth of positions).
    public var tokenCapacity: Int { cache.tokenCapacity }

    /// Queues sequence `id` whose known tokens are `tokens` (its prompt).
    /// - Throws: ``SchedulerError/exceedsCapacity(tokenCount:capacity:)`` when `reservedTokenCount`
    ///   (the prompt plus the most tokens it may generate) exceeds the whole cache.
    public mutating func add(_ id: SequenceID, tokens: [Int32], reservedTokenCount: Int? = nil) throws(SchedulerError) {
        precondition(records[id] == nil, "\(id) is known already")
        precondition(!tokens.isEmpty, "a sequence needs at least one token")
        let need = max(reservedTokenCount ?? tokens.count, tokens.count)
        guard need <= tokenCapacity else { throw .exceedsCapacity(tokenCount: need, capacity: tokenCapacity) }
        records[id] = Record(tokens: tokens, admission: 0)
        waiting.append(id)
    }

    /// Adds a generated token to running sequence `id`; its slot is reserved by the next step.
    public mutating func append(_ token: Int32, to id: SequenceID) {
        records[id]!.tokens.append(token)
    }

    /// The known tokens of `id` (prompt and generated).
    public func tokens(of id: SequenceID) -> [Int32] { records[id]?.tokens ?? [] }

    public func contains(_ id: SequenceID) -> Bool { records[id] != nil }

    /// Forgets `id`, running or waiting, releasing its pages.
    public mutating func remove(_ id: SequenceID) {
        guard records.removeValue(forKey: id) != nil else { return }
        if cache.contains(id) { cache.release(id) }
        running.removeAll { $0 == id }
        waiting.removeAll { $0 == id }
    }

    /// Starts `child` as a copy of running sequence `parent` sharing its computed pages (n > 1
    /// samples of one prompt). False when pages run out for the copied partial page.
    public mutating func fork(_ parent: SequenceID, into child: SequenceID) -> Bool {
        precondition(records[child] == nil, "\(child) is known already")
        guard cache.contains(parent), cache.fork(parent, into: child) else { return false }
        admissions += 1
        records[child] = Record(tokens: records[parent]!.tokens, admission: admissions)
        running.append(child)
        return true
    }

    // MARK: Stepping

    /// Chooses the positions to compute this step and reserves their slots.
    public mutating func schedule() -> ScheduledBatch {
        var batch = ScheduledBatch()
        var budget = configuration.maxBatchTokens
        // Prompt tokens (chunks of running prefills and of newcomers) this step, when a stream
        // decodes: it waits for the whole step.
        var prefillBudget = budget
        if let limit = prefillTokenLimit {
            for id in running where isDecoding(id) {
                prefillBudget = max(0, limit)
                break
            }
        }
        var index = 0
        while index < running.count, budget > 0 {
            let id = running[index]
            if !cache.contains(id) {
                // Recompute mode released it after its last step: start it again.
                guard let cached = cache.startSequence(id, promptTokens: records[id]!.tokens.map(UInt32.init(bitPattern:))) else {
                    preemptLatest(&batch)
                    continue
                }
                _ = cached
            }
            let computed = cache.computedTokenCount(of: id)
            let known = records[id]!.tokens.count
            let reserved = cache.tokenCount(of: id)
            let pending = known - computed
            let count = pending == 1 ? min(1, budget) : min(pending, budget, prefillBudget)
            // Slots for the known tokens; with window release, only for this step's chunk (a
            // window group then holds its window and the chunk in flight, not the whole prompt).
            let reserveEnd = cache.releasesWindowPages ? computed + count : known
            if reserved < reserveEnd {
                let new = records[id]!.tokens[reserved..<reserveEnd].map(UInt32.init(bitPattern:))
                if !cache.append(new, to: id) {
                    preemptLatest(&batch)
                    continue  // the same index again (or the loop ends if this one was preempted)
                }
            }
            if count > 0 {
                batch.entries.append(.init(id: id, positions: computed..<computed + count, wantsLogits: computed + count == known))
                budget -= count
                if pending > 1 { prefillBudget -= count }
            }
            index += 1
        }
        var admissionBudget = min(budget, prefillBudget)
        admitWaiting(&batch, budget: &admissionBudget)
        return batch
    }

    /// True when running sequence `id` has exactly its newest token left to compute.
    func isDecoding(_ id: SequenceID) -> Bool {
        guard cache.contains(id), let record = records[id] else { return false }
        return record.tokens.count - cache.computedTokenCount(of: id) == 1
    }

    /// Records that a step computed `batch`: its positions' keys and values are written.
    public mutating func complete(_ batch: ScheduledBatch) {
        for entry in batch.entries where cache.contains(entry.id) {
            cache.markComputed(entry.id, tokenCount: entry.positions.upperBound)
            if configuration.recomputeEveryStep && entry.wantsLogits { cache.release(entry.id) }
        }
    }

    mutating func admitWaiting(_ batch: inout ScheduledBatch, budget: inout Int) {
        while budget > 0, let id = waiting.first, running.count < configuration.maxRunningSequences {
            let tokens = records[id]!.tokens
            // Keep in reserve the pages the running sequences need for their next tokens (a page
            // per layer group for each whose last page is full), so admitting does not force a
            // preemption.
            let reserve = running.reduce(0) { n, r in
                cache.contains(r) ? n + cache.pageCountNeeded(toAppend: 1, to: r) : n
            }
            let pagesNeeded = cache.pageCountNeeded(forSequenceOf: tokens.count, chunkTokenCount: configuration.maxBatchTokens)
            guard running.isEmpty || pagesNeeded + reserve <= cache.availablePageCount,
                let cached = cache.startSequence(
                    id, promptTokens: tokens.map(UInt32.init(bitPattern:)),
                    maxNewSlots: cache.releasesWindowPages ? budget : nil)
            else { return }
            waiting.removeFirst()
            admissions += 1
            records[id]!.admission = admissions
            running.append(id)
            let count = min(tokens.count - cached, budget)
            batch.entries.append(.init(id: id, positions: cached..<cached + count, wantsLogits: cached + count == tokens.count))
            budget -= count
        }
    }

    /// Takes the pages of the most recently admitted running sequence back and queues it first.
    mutating func preemptLatest(_ batch: inout ScheduledBatch) {
        let victim = running.removeLast()
        if cache.contains(victim) { cache.release(victim) }
        batch.entries.removeAll { $0.id == victim }
        batch.preempted.append(victim)
        waiting.insert(victim, at: 0)
        preemptionCount += 1
    }
}

public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    case exceedsCapacity(tokenCount: Int, capacity: Int)
    public var description: String {
        switch self {
        case .exceedsCapacity(let n, let capacity):
            "a sequence of up to \(n) tokens cannot fit in a KV cache of \(capacity) tokens"
        }
    }
}

extension Scheduler {
    /// Calls `body` with the first byte of the K/V memory, for the model to write and read during
    /// one step. The pointer is valid only inside `body`.
    public mutating func withKVMemory<Result>(_ body: (UnsafeMutableRawPointer) -> Result) -> Result {
        cache.withMutableStorage { storage in
            storage.withUnsafeMutableBytes { body($0.baseAddress!) }
        }
    }

    /// Calls `body` with the page table of live sequence `id` in layer group `group`.
    public func withPageTable<Result>(of id: SequenceID, group: Int = 0, _ body: (borrowing PageTable) -> Result) -> Result {
        cache.withPageTable(of: id, group: group, body)
    }
}
