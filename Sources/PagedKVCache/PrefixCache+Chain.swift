extension PrefixCache {
    /// Where one sequence stands in the hash chain: how many of its full pages have been looked
    /// up or cached, the hash of the last of them, and the identity the next page hangs from.
    struct Chain: Hashable, Sendable {
        /// The chained hash of the last processed page (the root hash before the first).
        var hash: UInt64
        /// The cached page holding the same prefix as the last processed page (or the root);
        /// nil once the chain is broken (a collision, or that page left the cache): the
        /// sequence's later pages are then not cached.
        var parent: Parent?
        /// Full pages of the sequence processed so far.
        var pageCount: Int
    }
}

extension PrefixCache.Chain {
    /// The chain of a sequence before its first page (of layer group `group`).
    init(salt: UInt64, group: Int = 0) {
        let root = PrefixCache.rootHash(salt: salt)
        self.init(
            hash: group == 0 ? root : PrefixCache.mix(root ^ UInt64(group)), parent: .root(salt: salt, group: group),
            pageCount: 0)
    }
}

extension PagePool {
    /// Calls `body` with each cached page that holds the next full page of `tokens` for the
    /// sequence at `chain`, in order, at most `maxPageCount`, and advances `chain` past them.
    /// - Returns: the number of pages found.
    /// - Complexity: O(`maxPageCount × tokensPerPage`); allocates nothing.
    func forEachCachedPrefixPage(
        of tokens: UnsafeBufferPointer<UInt32>, maxPageCount: Int, chain: inout PrefixCache.Chain,
        _ body: (PageID) -> Void
    ) -> Int {
        guard prefixCache.isEnabled else { return 0 }
        let tokensPerPage = prefixCache.tokensPerPage
        for index in 0 ..< maxPageCount {
            let pageTokens = UnsafeBufferPointer(rebasing: tokens[index * tokensPerPage ..< (index + 1) * tokensPerPage])
            let hash = PrefixCache.hash(parent: chain.hash, tokens: pageTokens)
            guard let parent = chain.parent, let page = prefixCache.page(hash: hash, parent: parent, tokens: pageTokens)
            else { return index }
            body(page)
            chain = .init(hash: hash, parent: prefixCache.identity(of: page), pageCount: chain.pageCount + 1)
        }
        return maxPageCount
    }

    /// Appends to `table` the cached pages that hold the first pages of `tokens`, at most
    /// `maxPageCount`, without retaining them, and advances `chain` past them.
    ///
    /// - Returns: the number of pages appended, and how many of them are evictable (retaining
    ///   them takes them out of what allocations can use).
    /// - Complexity: O(`maxPageCount × tokensPerPage`); allocates nothing when `table` has the
    ///   capacity.
    func appendCachedPrefix(
        of tokens: UnsafeBufferPointer<UInt32>, maxPageCount: Int, chain: inout PrefixCache.Chain,
        to table: inout PageTable
    ) -> (pageCount: Int, evictablePageCount: Int) {
        var evictable = 0
        _ = forEachCachedPrefixPage(of: tokens, maxPageCount: maxPageCount, chain: &chain) { page in
            table.append(page)
            if referenceCounts[page.index] == 0 { evictable += 1 }
        }
        return (chain.pageCount, evictable)
    }

    /// The number of leading pages of `tokens` (at most `maxPageCount`) that the cache holds for
    /// the sequence at `chain`, which is not changed. What ``appendCachedPrefix(of:maxPageCount:chain:to:)``
    /// would append.
    /// - Complexity: O(`maxPageCount × tokensPerPage`); allocates nothing.
    func cachedPrefixPageCount(of tokens: UnsafeBufferPointer<UInt32>, maxPageCount: Int, chain: PrefixCache.Chain) -> Int {
        var chain = chain
        return forEachCachedPrefixPage(of: tokens, maxPageCount: maxPageCount, chain: &chain) { _ in }
    }

    /// Caches `page`, the next full page of the sequence at `chain`, holding `tokens`, unless the
    /// cache holds that prefix already (then the sequence's chain continues from that twin) or
    /// the chain is broken. Advances `chain` past the page.
    mutating func cacheFullPage(_ page: PageID, tokens: UnsafeBufferPointer<UInt32>, chain: inout PrefixCache.Chain) {
        guard prefixCache.isEnabled else { return }
        let hash = PrefixCache.hash(parent: chain.hash, tokens: tokens)
        var next = PrefixCache.Chain(hash: hash, parent: nil, pageCount: chain.pageCount + 1)
        defer { chain = next }
        guard let parent = chain.parent, prefixCache.isCurrent(parent) else { return }
        if let twin = prefixCache.page(hash: hash, parent: parent, tokens: tokens) {
            next.parent = prefixCache.identity(of: twin)
        } else if !prefixCache.containsHash(hash) {
            prefixCache.insert(page, hash: hash, parent: parent, tokens: tokens)
            next.parent = prefixCache.identity(of: page)
        }
        // else: another prefix owns this hash (a collision); this sequence's pages stay uncached.
    }
}
