/// The facade the scheduler calls: it starts, grows, forks and releases sequences, each with its
/// ``PageTable``, over one ``PagePool`` (and, when given, the ``PageStorage`` the model writes
/// keys and values into), and reports usage and waste.
///
/// The life of a sequence:
///
/// ```
///  startSequence(id, promptTokens:)  → cached token count c, or nil when out of pages
///      the model computes positions c ..< prompt.count, writing K/V into their slots
///  markComputed(id)                  → full pages whose K/V is written enter the prefix cache
///  append(token:to:)                 → reserves the next slot, or false when out of pages
///      the model computes it;  markComputed(id);  … (repeat per generated token)
///  fork(id, into: child)             → the child shares every full page, copies the partial one
///  release(id)                       → pages go back: cached ones evictable, others free
/// ```
///
/// A page enters the prefix cache only once it is full *and* marked computed, so no sequence can
/// hit a page whose keys and values are not written yet, however prefill is chunked.
///
/// Running out of pages is an ordinary result (nil or false) that changes nothing. Naming a
/// sequence that is not live (or starting one that is) is a programmer error and traps: the
/// scheduler owns the set of live sequences, and ``contains(_:)`` answers for it.
///
/// One owner: call the manager from one task or thread. In steady state (slots, tables and token
/// buffers reused from released sequences) appending, allocating, releasing and prefix lookups
/// allocate no memory.
public struct KVCacheManager: ~Copyable {
    public let layout: PageLayout
    var pool: PagePool
    var storage: PageStorage?
    /// Live and vacant sequence states; `slotOfSequence` names the live ones.
    var sequences: [SequenceState] = []
    var slotOfSequence: [SequenceID: Int] = [:]
    var vacantSlots: [Int] = []
    /// Reserved per new sequence so that growing up to `maxTokensPerSequence` never allocates.
    let pageCapacityPerSequence: Int
    let tokenCapacityPerSequence: Int

    /// Leading prompt pages found in the prefix cache, over all starts.
    public private(set) var prefixCacheHitPageCount = 0
    /// Prompt pages that could have come from the prefix cache but did not, over all starts.
    public private(set) var prefixCacheMissPageCount = 0

    /// A manager of `pageCount` pages of `layout` that keeps the books only, with no K/V memory
    /// (for scheduling, tests and benchmarks).
    ///
    /// - Parameters:
    ///   - prefixCaching: reuse full pages across sequences with a common prefix.
    ///   - maxTokensPerSequence: the longest sequence expected (the model's context); per-sequence
    ///     storage is reserved for it so that appends do not allocate.
    public init(layout: PageLayout, pageCount: Int, prefixCaching: Bool = true, maxTokensPerSequence: Int = 0) {
        self.layout = layout
        self.pool = PagePool(pageCount: pageCount, prefixCacheTokensPerPage: prefixCaching ? layout.tokensPerPage : nil)
        self.storage = nil
        self.pageCapacityPerSequence = (maxTokensPerSequence + layout.tokensPerPage - 1) / layout.tokensPerPage
        self.tokenCapacityPerSequence = prefixCaching ? maxTokensPerSequence : 0
    }

    /// A manager of the pages of `storage`, which it owns from now on.
    public init(storage: consuming PageStorage, prefixCaching: Bool = true, maxTokensPerSequence: Int = 0) {
        self.init(
            layout: storage.layout, pageCount: storage.pageCount, prefixCaching: prefixCaching,
            maxTokensPerSequence: maxTokensPerSequence)
        self.storage = consume storage
    }

    public var isPrefixCachingEnabled: Bool { pool.prefixCache.isEnabled }

    // MARK: Sequences

    /// Starts sequence `id` with slots for all of `promptTokens`: the longest run of leading full
    /// pages already in the prefix cache is reused, the rest is allocated.
    ///
    /// The reused prefix is capped at ⌊(promptTokens.count − 1) / tokensPerPage⌋ pages, so the
    /// last prompt token is always computed (its logits give the first new token). Sequences
    /// with different `salt`s never share pages.
    ///
    /// - Returns: the number of leading prompt tokens whose keys and values are already in the
    ///   cache (a multiple of `tokensPerPage`); the caller computes the positions after them.
    ///   Nil when the pages run out; nothing changes then.
    /// - Complexity: O(`promptTokens.count`).
    public mutating func startSequence(_ id: SequenceID, promptTokens: [UInt32], salt: UInt64 = 0) -> Int? {
        precondition(slotOfSequence[id] == nil, "\(id) is live already")
        let tokensPerPage = layout.tokensPerPage
        let promptPageCount = (promptTokens.count + tokensPerPage - 1) / tokensPerPage
        let cacheablePageCount = isPrefixCachingEnabled ? max(promptTokens.count - 1, 0) / tokensPerPage : 0
        let slot = takeVacantSlot()
        var chain = PrefixCache.Chain(salt: salt)
        let (hitCount, evictableHitCount) = promptTokens.withUnsafeBufferPointer { tokens in
            pool.appendCachedPrefix(
                of: tokens, maxPageCount: cacheablePageCount, chain: &chain, to: &sequences[slot].table)
        }
        guard promptPageCount - hitCount <= pool.availablePageCount - evictableHitCount else {
            sequences[slot].removeAll()
            vacantSlots.append(slot)
            return nil
        }
        for index in 0 ..< hitCount { pool.retain(sequences[slot].table[index]) }
        let allocated = pool.allocate(pageCount: promptPageCount - hitCount, appendingTo: &sequences[slot].table)
        assert(allocated, "the availability check above guarantees the pages")
        sequences[slot].table.appendTokens(promptTokens.count)
        if isPrefixCachingEnabled { sequences[slot].tokens.append(contentsOf: promptTokens) }
        sequences[slot].computedTokenCount = hitCount * tokensPerPage
        sequences[slot].chain = chain
        slotOfSequence[id] = slot
        prefixCacheHitPageCount += hitCount
        prefixCacheMissPageCount += cacheablePageCount - hitCount
        return hitCount * tokensPerPage
    }

    /// Reserves slots for `tokens`, the next positions of sequence `id`, allocating pages as
    /// needed. Returns false when the pages run out; nothing changes then.
    /// - Complexity: O(`tokens.count`).
    public mutating func append(_ tokens: [UInt32], to id: SequenceID) -> Bool {
        let slot = liveSlot(of: id)
        let pageCount = sequences[slot].table.pageCountNeeded(forAppending: tokens.count)
        guard pool.allocate(pageCount: pageCount, appendingTo: &sequences[slot].table) else { return false }
        sequences[slot].table.appendTokens(tokens.count)
        if isPrefixCachingEnabled { sequences[slot].tokens.append(contentsOf: tokens) }
        return true
    }

    /// Reserves the slot of `token`, the next position of sequence `id`, allocating a page when
    /// the last one is full. Returns false when the pages run out; nothing changes then.
    public mutating func append(token: UInt32, to id: SequenceID) -> Bool {
        let slot = liveSlot(of: id)
        if sequences[slot].table.freeTokenCount == 0 {
            guard let page = pool.allocate() else { return false }
            sequences[slot].table.append(page)
        }
        sequences[slot].table.appendTokens(1)
        if isPrefixCachingEnabled { sequences[slot].tokens.append(token) }
        return true
    }

    /// Records that the keys and values of every reserved position of `id` are written.
    /// Full pages among them enter the prefix cache.
    public mutating func markComputed(_ id: SequenceID) {
        let slot = liveSlot(of: id)
        markComputed(slot: slot, tokenCount: sequences[slot].table.tokenCount)
    }

    /// Records that the keys and values of positions `0 ..< tokenCount` of `id` are written
    /// (chunked prefill marks a prompt chunk by chunk). Full pages among them enter the prefix
    /// cache. `tokenCount` never decreases and never exceeds the reserved positions.
    /// - Complexity: O(newly computed tokens).
    public mutating func markComputed(_ id: SequenceID, tokenCount: Int) {
        markComputed(slot: liveSlot(of: id), tokenCount: tokenCount)
    }

    private mutating func markComputed(slot: Int, tokenCount: Int) {
        precondition(
            tokenCount >= sequences[slot].computedTokenCount && tokenCount <= sequences[slot].table.tokenCount,
            "computed token count \(tokenCount) is outside \(sequences[slot].computedTokenCount)...\(sequences[slot].table.tokenCount)")
        sequences[slot].computedTokenCount = tokenCount
        guard isPrefixCachingEnabled else { return }
        let tokensPerPage = layout.tokensPerPage
        var chain = sequences[slot].chain
        let fullPageCount = tokenCount / tokensPerPage
        guard chain.pageCount < fullPageCount else { return }
        let table = sequences[slot].table
        sequences[slot].tokens.withUnsafeBufferPointer { tokens in
            while chain.pageCount < fullPageCount {
                let start = chain.pageCount * tokensPerPage
                pool.cacheFullPage(
                    table[chain.pageCount], tokens: UnsafeBufferPointer(rebasing: tokens[start ..< start + tokensPerPage]),
                    chain: &chain)
            }
        }
        sequences[slot].chain = chain
    }

    /// Ends sequence `id`: its pages lose a reference, last page first, so that among cached
    /// pages a prefix's tail is evicted before its head.
    /// - Complexity: O(pages of the sequence).
    public mutating func release(_ id: SequenceID) {
        guard let slot = slotOfSequence.removeValue(forKey: id) else { preconditionFailure("\(id) is not live") }
        for index in stride(from: sequences[slot].table.pageCount - 1, through: 0, by: -1) {
            pool.release(sequences[slot].table[index])
        }
        sequences[slot].removeAll()
        vacantSlots.append(slot)
    }

    // MARK: Queries

    /// True when `id` is live (started or forked, and not released).
    public func contains(_ id: SequenceID) -> Bool { slotOfSequence[id] != nil }

    /// The live sequences, in no particular order.
    public var sequenceIDs: some Collection<SequenceID> { slotOfSequence.keys }

    /// A copy of the page table of `id`. Drop it before the sequence grows again, or the growth
    /// copies the table; ``withPageTable(of:_:)`` never copies.
    public func pageTable(of id: SequenceID) -> PageTable { sequences[liveSlot(of: id)].table }

    /// Calls `body` with the page table of `id`.
    public func withPageTable<Result, Failure: Error>(
        of id: SequenceID, _ body: (borrowing PageTable) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(sequences[liveSlot(of: id)].table)
    }

    /// Positions of `id` with a slot.
    public func tokenCount(of id: SequenceID) -> Int { sequences[liveSlot(of: id)].table.tokenCount }

    /// Positions of `id` whose keys and values are marked written.
    public func computedTokenCount(of id: SequenceID) -> Int { sequences[liveSlot(of: id)].computedTokenCount }

    /// Pages an allocation can hand out now: free plus evictable.
    public var availablePageCount: Int { pool.availablePageCount }

    /// Pages that appending `tokenCount` positions to `id` would allocate.
    public func pageCountNeeded(toAppend tokenCount: Int, to id: SequenceID) -> Int {
        sequences[liveSlot(of: id)].table.pageCountNeeded(forAppending: tokenCount)
    }

    // MARK: Slots

    func liveSlot(of id: SequenceID) -> Int {
        guard let slot = slotOfSequence[id] else { preconditionFailure("\(id) is not live") }
        return slot
    }

    /// A vacant slot, made when none is left (the only allocation a start may make).
    mutating func takeVacantSlot() -> Int {
        if let slot = vacantSlots.popLast() { return slot }
        sequences.append(
            SequenceState(
                tokensPerPage: layout.tokensPerPage, pageCapacity: pageCapacityPerSequence,
                tokenCapacity: tokenCapacityPerSequence))
        return sequences.count - 1
    }
}
