import PagedKVCache
import Scheduler
import Testing

/// The scheduler over a bookkeeping-only cache: exact batches, chunked prefill, prefix hits,
/// preemption under a tiny budget, and nothing leaked at the end.
struct SchedulerTests {
    static let layout = try! PageLayout(tokensPerPage: 4, layerCount: 1, kvHeadCount: 1, headSize: 8)

    func scheduler(pages: Int, budget: Int = 16, maxRunning: Int = 8, recompute: Bool = false) -> Scheduler {
        Scheduler(
            cache: KVCacheManager(layout: Self.layout, pageCount: pages, prefixCaching: !recompute),
            configuration: .init(maxBatchTokens: budget, maxRunningSequences: maxRunning, recomputeEveryStep: recompute))
    }

    func id(_ n: UInt64) -> SequenceID { SequenceID(rawValue: n) }

    /// Runs one step as the engine would: complete the batch, then give every sequence that got
    /// logits its next token (a counter), finishing those that reached `length`.
    func step(_ s: inout Scheduler, lengths: [SequenceID: Int]) -> ScheduledBatch {
        let batch = s.schedule()
        s.complete(batch)
        for e in batch.entries where e.wantsLogits {
            if s.tokens(of: e.id).count >= lengths[e.id]! {
                s.remove(e.id)
            } else {
                s.append(Int32(s.tokens(of: e.id).count), to: e.id)
            }
        }
        return batch
    }

    /// With a prefill limit, a step that carries a decode carries at most that many prompt
    /// tokens (running prefills and newcomers together); with no decode the whole budget goes to
    /// prompts.
    @Test func thePrefillLimitBoundsPromptTokensBesideDecodes() throws {
        var s = scheduler(pages: 64, budget: 16)
        s.prefillTokenLimit = 4
        try s.add(id(1), tokens: Array(0..<10))
        var b = s.schedule()
        #expect(b.entries == [.init(id: id(1), positions: 0..<10, wantsLogits: true)], "no decode yet: the whole budget")
        s.complete(b)
        s.append(10, to: id(1))
        try s.add(id(2), tokens: Array(100..<109))
        try s.add(id(3), tokens: Array(200..<209))
        b = s.schedule()
        #expect(b.entries == [
            .init(id: id(1), positions: 10..<11, wantsLogits: true), .init(id: id(2), positions: 0..<4, wantsLogits: false),
        ])
        s.complete(b)
        s.append(11, to: id(1))
        b = s.schedule()
        #expect(b.entries == [
            .init(id: id(1), positions: 11..<12, wantsLogits: true), .init(id: id(2), positions: 4..<8, wantsLogits: false),
        ])
        #expect(b.tokenCount - 1 <= 4)
    }

    @Test func decodesFirstThenChunksPrompts() throws {
        var s = scheduler(pages: 32, budget: 6)
        try s.add(id(1), tokens: Array(0..<10))
        var b = s.schedule()
        #expect(b.entries == [.init(id: id(1), positions: 0..<6, wantsLogits: false)])
        s.complete(b)
        try s.add(id(2), tokens: [7, 7, 7])
        b = s.schedule()
        // Sequence 1 finishes its prompt (4 tokens), sequence 2 gets the 2 left of the budget.
        #expect(b.entries == [
            .init(id: id(1), positions: 6..<10, wantsLogits: true),
            .init(id: id(2), positions: 0..<2, wantsLogits: false),
        ])
        s.complete(b)
        s.append(99, to: id(1))
        b = s.schedule()
        #expect(b.entries == [
            .init(id: id(1), positions: 10..<11, wantsLogits: true),
            .init(id: id(2), positions: 2..<3, wantsLogits: true),
        ])
        let reserved = s.cache.tokenCount(of: id(1))
        #expect(reserved == 11)
    }

    @Test func sharedPrefixIsServedFromTheCache() throws {
        var s = scheduler(pages: 32, budget: 64)
        let prompt: [Int32] = Array(0..<13)
        try s.add(id(1), tokens: prompt)
        s.complete(s.schedule())
        try s.add(id(2), tokens: prompt + [50, 51])
        let b = s.schedule()
        // 15 tokens: the first 3 full pages (12 tokens) come from the cache.
        #expect(b.entries.last == .init(id: id(2), positions: 12..<15, wantsLogits: true))
        let hits = s.cache.usage.prefixCacheHitPageCount
        #expect(hits == 3)
    }

    @Test func tinyBudgetQueuesAndPreemptsButFinishesEverything() throws {
        // 6 pages of 4 tokens: room for one or two sequences at a time.
        var s = scheduler(pages: 6, budget: 8, maxRunning: 4)
        var lengths: [SequenceID: Int] = [:]
        for n in 1...5 {
            let prompt = (0..<(3 + n)).map { Int32($0 + 100 * n) }
            try s.add(id(UInt64(n)), tokens: prompt, reservedTokenCount: 14)
            lengths[id(UInt64(n))] = 14
        }
        var finished: Set<SequenceID> = []
        var preemptions = 0
        for _ in 0..<500 where !(s.running.isEmpty && s.waiting.isEmpty) {
            let b = step(&s, lengths: lengths)
            preemptions += b.preempted.count
            for (sid, _) in lengths where !s.contains(sid) { finished.insert(sid) }
            try s.cache._checkInvariants()
        }
        #expect(finished.count == 5)
        #expect(preemptions > 0, "a budget this small must preempt")
        let usage = s.cache.usage
        #expect(usage.usedPageCount == 0, "every page is free or evictable at the end: \(usage)")
    }

    @Test func requestLargerThanTheCacheIsRefused() {
        var s = scheduler(pages: 2)
        var refused: SchedulerError?
        do { try s.add(id(1), tokens: [1, 2, 3], reservedTokenCount: 9) } catch { refused = error }
        #expect(refused == .exceedsCapacity(tokenCount: 9, capacity: 8))
    }

    @Test func recomputeModeComputesTheWholeSequenceEveryStep() throws {
        var s = scheduler(pages: 16, budget: 64, recompute: true)
        try s.add(id(1), tokens: [1, 2, 3, 4, 5])
        var b = s.schedule()
        #expect(b.entries == [.init(id: id(1), positions: 0..<5, wantsLogits: true)])
        s.complete(b)
        let live = s.cache.contains(id(1))
        #expect(!live)
        s.append(6, to: id(1))
        b = s.schedule()
        #expect(b.entries == [.init(id: id(1), positions: 0..<6, wantsLogits: true)])
    }

    @Test func forkSharesThePromptPages() throws {
        var s = scheduler(pages: 16, budget: 64)
        try s.add(id(1), tokens: Array(0..<9))
        s.complete(s.schedule())
        let forked = s.fork(id(1), into: id(2))
        #expect(forked)
        let (parentTokens, childTokens) = (s.tokens(of: id(1)), s.tokens(of: id(2)))
        #expect(childTokens == parentTokens)
        let used = s.cache.usage.usedPageCount
        #expect(used == 4)  // 2 shared full pages + 2 partial pages
        s.remove(id(1))
        s.remove(id(2))
        let usedAfter = s.cache.usage.usedPageCount
        #expect(usedAfter == 0)
    }

    // MARK: Sliding-window layer groups

    /// Two groups of one layer: global, and through an 8-token window (pages go back whole
    /// 4-position tiles behind it).
    func windowScheduler(pages: Int, budget: Int, maxRunning: Int = 8) -> Scheduler {
        Scheduler(
            cache: KVCacheManager(
                layout: Self.layout, pageCount: pages, maxTokensPerSequence: 64,
                layerGroups: KVLayerGroups(layers: [[0], [1]], windowLengths: [nil, 8]), windowReleaseAlignment: 4),
            configuration: .init(maxBatchTokens: budget, maxRunningSequences: maxRunning))
    }

    @Test func aLongPromptReservesOneChunkAtATimeAndTheWindowGroupHoldsItsWindow() throws {
        var s = windowScheduler(pages: 64, budget: 8)
        try s.add(id(1), tokens: (0..<30).map(Int32.init))
        var b = s.schedule()
        #expect(b.entries == [.init(id: id(1), positions: 0..<8, wantsLogits: false)])
        // Only the chunk has slots: 2 pages in each group.
        let (reserved, used) = (s.cache.tokenCount(of: id(1)), s.cache.usage.usedPageCount)
        #expect(reserved == 8 && used == 4)
        s.complete(b)
        var computed = 8
        while computed < 30 {
            b = s.schedule()
            let end = min(30, computed + 8)
            #expect(b.entries == [.init(id: id(1), positions: computed..<end, wantsLogits: end == 30)])
            let reservedNow = s.cache.tokenCount(of: id(1))
            #expect(reservedNow == end)
            s.complete(b)
            computed = end
            try s.cache._checkInvariants()
            let window = s.cache.pageTable(of: id(1), group: 1)
            #expect(window.releasedPageCount == max(0, computed - 7) / 4)
            // The window group holds the window's tiles and the partial page, never the prompt.
            #expect(window.heldPageCount <= 4)
        }
        s.remove(id(1))
        try s.cache._checkInvariants()
        let usedAtEnd = s.cache.usage.usedPageCount
        #expect(usedAtEnd == 0)
    }

    @Test func windowGroupsUnderATinyBudgetQueueAndPreemptButFinishEverything() throws {
        // 20 pages of 4 tokens in two groups: room for one or two 24-token sequences at a time.
        var s = windowScheduler(pages: 20, budget: 8, maxRunning: 4)
        var lengths: [SequenceID: Int] = [:]
        for n in 1...5 {
            let prompt = (0..<(6 + 2 * n)).map { Int32($0 + 100 * (n % 2)) }
            try s.add(id(UInt64(n)), tokens: prompt, reservedTokenCount: 24)
            lengths[id(UInt64(n))] = 24
        }
        var finished: Set<SequenceID> = []
        for _ in 0..<1000 where !(s.running.isEmpty && s.waiting.isEmpty) {
            _ = step(&s, lengths: lengths)
            for (sid, _) in lengths where !s.contains(sid) { finished.insert(sid) }
            try s.cache._checkInvariants()
        }
        #expect(finished.count == 5)
        let usage = s.cache.usage
        #expect(usage.usedPageCount == 0, "every page is free or evictable at the end: \(usage)")
    }
}
