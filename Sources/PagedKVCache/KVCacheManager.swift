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
/// Layer groups (``KVLayerGroups``): every sequence has one page table per group, all drawn from
/// the one pool; a page holds the keys and values of its group's layers. In a sliding-window
/// group, once the window release is on (`windowReleaseAlignment`), ``markComputed(_:tokenCount:)``
/// gives back the leading pages no future query can see: after positions `0 ..< n` are computed
/// every later query is at `n` or after and sees keys from `n − window + 1` on, so pages wholly
/// before that bound (rounded down to the attention kernel's KV tile, whose keys it reads
/// together) are released — cached ones into the prefix cache's LRU, others free. A prefix hit
/// needs every group's leading pages cached, and retains of a window group only the pages from
/// the first query's window on.
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
    /// Which layers share a page table; `layout.layerCount` is `layerGroups.layersPerGroup`.
    public let layerGroups: KVLayerGroups
    /// Window groups give back pages wholly before `n − window + 1` rounded down to a multiple of
    /// this (the attention kernel's KV tile, read whole); nil keeps every page (the baseline).
    public let windowReleaseAlignment: Int?
    var pool: PagePool
    var storage: PageStorage?
    /// Live and vacant sequence states; `slotOfSequence` names the live ones.
    var sequences: [SequenceState] = []
    var slotOfSequence: [SequenceID: Int] = [:]
    var vacantSlots: [Int] = []
    /// Per layer group, the cached pages a releasing sequence's window group gave back (kept to
    /// reuse its storage).
    var releasedPrefixScratch: [[PageID]]
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
    ///   - layerGroups: the layer groups (default: one group of `layout.layerCount` layers);
    ///     their size must be `layout.layerCount`.
    ///   - windowReleaseAlignment: release window groups' pages that no future query can see,
    ///     at this granularity in positions (a power of two: the attention kernel's KV tile); nil
    ///     keeps them.
    public init(
        layout: PageLayout, pageCount: Int, prefixCaching: Bool = true, maxTokensPerSequence: Int = 0,
        layerGroups: KVLayerGroups? = nil, windowReleaseAlignment: Int? = nil
    ) {
        let groups = layerGroups ?? .single(layerCount: layout.layerCount)
        precondition(groups.layersPerGroup == layout.layerCount, "a page holds one group's \(groups.layersPerGroup) layers, the layout \(layout.layerCount)")
        precondition(windowReleaseAlignment.map { $0 > 0 && $0 & ($0 - 1) == 0 } ?? true, "the release alignment is a power of two")
        self.layout = layout
        self.layerGroups = groups
        self.windowReleaseAlignment = groups.hasWindowGroups ? windowReleaseAlignment : nil
        self.pool = PagePool(pageCount: pageCount, prefixCacheTokensPerPage: prefixCaching ? layout.tokensPerPage : nil)
        self.storage = nil
        self.pageCapacityPerSequence = (maxTokensPerSequence + layout.tokensPerPage - 1) / layout.tokensPerPage
        self.tokenCapacityPerSequence = prefixCaching ? maxTokensPerSequence : 0
        self.releasedPrefixScratch = Array(repeating: [], count: groups.groupCount)
    }

    /// A manager of the pages of `storage`, which it owns from now on.
    public init(
        storage: consuming PageStorage, prefixCaching: Bool = true, maxTokensPerSequence: Int = 0,
        layerGroups: KVLayerGroups? = nil, windowReleaseAlignment: Int? = nil
    ) {
        self.init(
            layout: storage.layout, pageCount: storage.pageCount, prefixCaching: prefixCaching,
            maxTokensPerSequence: maxTokensPerSequence, layerGroups: layerGroups,
            windowReleaseAlignment: windowReleaseAlignment)
        self.storage = consume storage
    }

    public var isPrefixCachingEnabled: Bool { pool.prefixCache.isEnabled }

    /// Page tables per sequence.
    public var groupCount: Int { layerGroups.groupCount }

    /// The most positions one sequence can hold: a page per group for every `tokensPerPage`
    /// positions, out of the whole pool (as if no window page were released).
    public var tokenCapacity: Int { pool.pageCount / layerGroups.groupCount * layout.tokensPerPage }

    /// The leading pages of a table of group `group` that no query at `tokenCount` or after can
    /// see, once positions `0 ..< tokenCount` are computed (0 for a global group, or with the
    /// release off).
    public func releasablePageCount(group: Int, computedTokenCount tokenCount: Int) -> Int {
        guard let alignment = windowReleaseAlignment, let window = layerGroups.windowLengths[group] else { return 0 }
        let firstVisible = max(0, tokenCount - window + 1)
        return (firstVisible & ~(alignment - 1)) / layout.tokensPerPage
    }

    // MARK: Sequences

    /// Starts sequence `id` with slots for all of `promptTokens`: the longest run of leading full
    /// pages already in the prefix cache is reused, the rest is allocated.
    ///
    /// The reused prefix is capped at ⌊(promptTokens.count − 1) / tokensPerPage⌋ pages, so the
    /// last prompt token is always computed (its logits give the first new token). Sequences
    /// with different `salt`s never share pages. With several layer groups, the reused prefix is
    /// the longest that every group has cached; a window group retains only the pages the first
    /// computed position's window reaches.
    ///
    /// - Parameters:
    ///   - maxNewSlots: reserve slots only for the cached prefix and at most this many positions
    ///     after it (the first prompt chunk; ``append(_:to:)`` reserves the later chunks as they
    ///     are scheduled), so a window group never holds more than its window and the chunks in
    ///     flight. Nil reserves the whole prompt.
    /// - Returns: the number of leading prompt tokens whose keys and values are already in the
    ///   cache (a multiple of `tokensPerPage`); the caller computes the positions after them.
    ///   Nil when the pages run out; nothing changes then.
    /// - Complexity: O(`promptTokens.count` × groups).
    public mutating func startSequence(
        _ id: SequenceID, promptTokens: [UInt32], salt: UInt64 = 0, maxNewSlots: Int? = nil
    ) -> Int? {
        precondition(slotOfSequence[id] == nil, "\(id) is live already")
        let tokensPerPage = layout.tokensPerPage
        let groupCount = layerGroups.groupCount
        let cacheablePageCount = isPrefixCachingEnabled ? max(promptTokens.count - 1, 0) / tokensPerPage : 0
        let slot = takeVacantSlot()
        var hitCount = cacheablePageCount
        promptTokens.withUnsafeBufferPointer { tokens in
            if groupCount > 1 {
                for group in 0..<groupCount where hitCount > 0 {
                    hitCount = pool.cachedPrefixPageCount(
                        of: tokens, maxPageCount: hitCount, chain: PrefixCache.Chain(salt: salt, group: group))
                }
            }
            for group in 0..<groupCount {
                var chain = PrefixCache.Chain(salt: salt, group: group)
                let found = pool.appendCachedPrefix(
                    of: tokens, maxPageCount: hitCount, chain: &chain, to: &sequences[slot].tables[group]).pageCount
                assert(groupCount == 1 || found == hitCount, "every group holds the common prefix")
                hitCount = found
                sequences[slot].chains[group] = chain
            }
        }
        // A window group keeps the hit pages from the first computed position's window on.
        var evictableRetained = 0
        for group in 0..<groupCount {
            let skipped = releasablePageCount(group: group, computedTokenCount: hitCount * tokensPerPage)
            for index in skipped..<hitCount where pool.referenceCount(of: sequences[slot].tables[group][index]) == 0 {
                evictableRetained += 1
            }
        }
        let reservedTokenCount = maxNewSlots.map {
            min(promptTokens.count, hitCount * tokensPerPage + max(1, min($0, promptTokens.count)))
        } ?? promptTokens.count
        let reservedPageCount = (reservedTokenCount + tokensPerPage - 1) / tokensPerPage
        guard groupCount * (reservedPageCount - hitCount) <= pool.availablePageCount - evictableRetained else {
            sequences[slot].removeAll()
            vacantSlots.append(slot)
            return nil
        }
        for group in 0..<groupCount {
            let skipped = releasablePageCount(group: group, computedTokenCount: hitCount * tokensPerPage)
            // The hit walked the pages behind the window too: the next hit on this prefix needs
            // them again, so they become the newest evictable ones, the head newest of all.
            for index in stride(from: skipped - 1, through: 0, by: -1) { pool.touch(sequences[slot].tables[group][index]) }
            for index in skipped..<hitCount { pool.retain(sequences[slot].tables[group][index]) }
            sequences[slot].tables[group].markLeadingEntriesReleased(skipped)
            let allocated = pool.allocate(pageCount: reservedPageCount - hitCount, appendingTo: &sequences[slot].tables[group])
            assert(allocated, "the availability check above guarantees the pages")
            sequences[slot].tables[group].appendTokens(reservedTokenCount)
        }
        if isPrefixCachingEnabled { sequences[slot].tokens.append(contentsOf: promptTokens[0..<reservedTokenCount]) }
        sequences[slot].computedTokenCount = hitCount * tokensPerPage
        sequences[slot].salt = salt
        slotOfSequence[id] = slot
        prefixCacheHitPageCount += hitCount
        prefixCacheMissPageCount += cacheablePageCount - hitCount
        return hitCount * tokensPerPage
    }

    /// Reserves slots for `tokens`, the next positions of sequence `id`, allocating pages as
    /// needed (in every layer group). Returns false when the pages run out; nothing changes then.
    /// - Complexity: O(`tokens.count`).
    public mutating func append(_ tokens: [UInt32], to id: SequenceID) -> Bool {
        let slot = liveSlot(of: id)
        let pageCount = sequences[slot].table.pageCountNeeded(forAppending: tokens.count)
        guard pageCount * layerGroups.groupCount <= pool.availablePageCount else { return false }
        for group in 0..<layerGroups.groupCount {
            let allocated = pool.allocate(pageCount: pageCount, appendingTo: &sequences[slot].tables[group])
            assert(allocated, "the availability check above guarantees the pages")
            sequences[slot].tables[group].appendTokens(tokens.count)
        }
        if isPrefixCachingEnabled { sequences[slot].tokens.append(contentsOf: tokens) }
        return true
    }

    /// Reserves the slot of `token`, the next position of sequence `id`, allocating a page (one
    /// per layer group) when the last one is full. Returns false when the pages run out; nothing
    /// changes then.
    public mutating func append(token: UInt32, to id: SequenceID) -> Bool {
        let slot = liveSlot(of: id)
        if sequences[slot].table.freeTokenCount == 0 {
            guard pool.availablePageCount >= layerGroups.groupCount else { return false }
            for group in 0..<layerGroups.groupCount {
                let page = pool.allocate()!
                sequences[slot].tables[group].append(page)
            }
        }
        for group in 0..<layerGroups.groupCount { sequences[slot].tables[group].appendTokens(1) }
        if isPrefixCachingEnabled { sequences[slot].tokens.append(token) }
        return true
    }

    /// Records that the keys and values of every reserved position of `id` are written.
    /// Full pages among them enter the prefix cache; window groups give back the pages no later
    /// query can see.
    public mutating func markComputed(_ id: SequenceID) {
        let slot = liveSlot(of: id)
        markComputed(slot: slot, tokenCount: sequences[slot].table.tokenCount)
    }

    /// Records that the keys and values of positions `0 ..< tokenCount` of `id` are written
    /// (chunked prefill marks a prompt chunk by chunk). Full pages among them enter the prefix
    /// cache; then each window group releases its leading pages wholly before the window of
    /// position `tokenCount` (``releasablePageCount(group:computedTokenCount:)``): no later
    /// query of the sequence can see them. `tokenCount` never decreases and never exceeds the
    /// reserved positions.
    /// - Complexity: O(newly computed tokens × groups + pages released).
    public mutating func markComputed(_ id: SequenceID, tokenCount: Int) {
        markComputed(slot: liveSlot(of: id), tokenCount: tokenCount)
    }

    private mutating func markComputed(slot: Int, tokenCount: Int) {
        precondition(
            tokenCount >= sequences[slot].computedTokenCount && tokenCount <= sequences[slot].table.tokenCount,
            "computed token count \(tokenCount) is outside \(sequences[slot].computedTokenCount)...\(sequences[slot].table.tokenCount)")
        sequences[slot].computedTokenCount = tokenCount
        if isPrefixCachingEnabled {
            for group in 0..<layerGroups.groupCount { cacheFullPages(slot: slot, group: group, tokenCount: tokenCount) }
        }
        guard windowReleaseAlignment != nil else { return }
        for group in 0..<layerGroups.groupCount {
            let target = releasablePageCount(group: group, computedTokenCount: tokenCount)
            while sequences[slot].tables[group].releasedPageCount < target {
                let page = sequences[slot].tables[group].releaseLeadingPage()
                pool.release(page)
            }
        }
    }

    private mutating func cacheFullPages(slot: Int, group: Int, tokenCount: Int) {
        let tokensPerPage = layout.tokensPerPage
        var chain = sequences[slot].chains[group]
        let fullPageCount = tokenCount / tokensPerPage
        guard chain.pageCount < fullPageCount else { return }
        let table = sequences[slot].tables[group]
        sequences[slot].tokens.withUnsafeBufferPointer { tokens in
            while chain.pageCount < fullPageCount {
                let start = chain.pageCount * tokensPerPage
                pool.cacheFullPage(
                    table[chain.pageCount], tokens: UnsafeBufferPointer(rebasing: tokens[start ..< start + tokensPerPage]),
                    chain: &chain)
            }
        }
        sequences[slot].chains[group] = chain
    }

    /// Ends sequence `id`: its pages lose a reference, last page first across all layer groups,
    /// so that among cached pages a prefix's tail is evicted before its head.
    ///
    /// A window group gave back its leading pages while the sequence ran, so they are the oldest
    /// in the evictable list, yet a prefix hit walks its chain from the first page: evicting them
    /// first would waste every later cached page of that prefix. So the cached ones among them
    /// are moved to the newest end in the same tail-first order: the whole prefix ages together
    /// from the sequence's end.
    /// - Complexity: O(pages of the sequence), plus hashing the pages given back when prefix
    ///   caching is on.
    public mutating func release(_ id: SequenceID) {
        guard let slot = slotOfSequence.removeValue(forKey: id) else { preconditionFailure("\(id) is not live") }
        var givenBack = releasedPrefixScratch
        releasedPrefixScratch = []
        for group in 0..<layerGroups.groupCount { givenBack[group].removeAll(keepingCapacity: true) }
        if isPrefixCachingEnabled {
            sequences[slot].tokens.withUnsafeBufferPointer { tokens in
                for group in 0..<layerGroups.groupCount where sequences[slot].tables[group].releasedPageCount > 0 {
                    var chain = PrefixCache.Chain(salt: sequences[slot].salt, group: group)
                    _ = pool.forEachCachedPrefixPage(
                        of: tokens, maxPageCount: sequences[slot].tables[group].releasedPageCount, chain: &chain
                    ) { givenBack[group].append($0) }
                }
            }
        }
        for index in stride(from: sequences[slot].table.pageCount - 1, through: 0, by: -1) {
            for group in 0..<layerGroups.groupCount {
                let table = sequences[slot].tables[group]
                if index >= table.releasedPageCount {
                    pool.release(table[index])
                } else if index < givenBack[group].count {
                    pool.touch(givenBack[group][index])
                }
            }
        }
        releasedPrefixScratch = givenBack
        sequences[slot].removeAll()
        vacantSlots.append(slot)
    }

    // MARK: Queries

    /// True when `id` is live (started or forked, and not released).
    public func contains(_ id: SequenceID) -> Bool { slotOfSequence[id] != nil }

    /// The live sequences, in no particular order.
    public var sequenceIDs: some Collection<SequenceID> { slotOfSequence.keys }

    /// A copy of the page table of `id` in layer group `group`. Drop it before the sequence grows
    /// again, or the growth copies the table; ``withPageTable(of:group:_:)`` never copies.
    public func pageTable(of id: SequenceID, group: Int = 0) -> PageTable { sequences[liveSlot(of: id)].tables[group] }

    /// Calls `body` with the page table of `id` in layer group `group`.
    public func withPageTable<Result, Failure: Error>(
        of id: SequenceID, group: Int = 0, _ body: (borrowing PageTable) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(sequences[liveSlot(of: id)].tables[group])
    }

    /// The pages `id` holds now, over all layer groups.
    public func heldPages(of id: SequenceID) -> [PageID] {
        sequences[liveSlot(of: id)].tables.flatMap(\.heldPages)
    }

    /// Positions of `id` with a slot.
    public func tokenCount(of id: SequenceID) -> Int { sequences[liveSlot(of: id)].table.tokenCount }

    /// Positions of `id` whose keys and values are marked written.
    public func computedTokenCount(of id: SequenceID) -> Int { sequences[liveSlot(of: id)].computedTokenCount }

    /// Pages an allocation can hand out now: free plus evictable.
    public var availablePageCount: Int { pool.availablePageCount }

    /// Pages that appending `tokenCount` positions to `id` would allocate (over all groups).
    public func pageCountNeeded(toAppend tokenCount: Int, to id: SequenceID) -> Int {
        sequences[liveSlot(of: id)].table.pageCountNeeded(forAppending: tokenCount) * layerGroups.groupCount
    }

    /// Pages a new sequence of `tokenCount` positions needs at most (over all groups) while it
    /// is computed in chunks of at most `chunkTokenCount` positions: all of them in a global
    /// group; in a window group that releases pages, no more than its window, the release
    /// granularity, a chunk and two partial pages (and no more than the positions need).
    public func pageCountNeeded(forSequenceOf tokenCount: Int, chunkTokenCount: Int = .max) -> Int {
        let tokensPerPage = layout.tokensPerPage
        let full = (tokenCount + tokensPerPage - 1) / tokensPerPage
        var pages = 0
        for group in 0..<layerGroups.groupCount {
            if let alignment = windowReleaseAlignment, let window = layerGroups.windowLengths[group], chunkTokenCount < tokenCount {
                pages += min(full, (window + alignment + chunkTokenCount) / tokensPerPage + 2)
            } else {
                pages += full
            }
        }
        return pages
    }

    /// True when window groups give back pages (``windowReleaseAlignment`` is set and some group
    /// attends through a window).
    public var releasesWindowPages: Bool { windowReleaseAlignment != nil }

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
                tokensPerPage: layout.tokensPerPage, groupCount: layerGroups.groupCount,
                pageCapacity: pageCapacityPerSequence, tokenCapacity: tokenCapacityPerSequence))
        return sequences.count - 1
    }
}
