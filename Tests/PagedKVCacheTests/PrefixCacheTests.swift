import Testing

@testable import PagedKVCache

@Suite struct PrefixCacheTests {
    private func hash(_ parent: UInt64, _ pageTokens: [UInt32]) -> UInt64 {
        pageTokens.withUnsafeBufferPointer { PrefixCache.hash(parent: parent, tokens: $0) }
    }

    @Test func aPagesHashCoversItsTokensInOrderEverythingBeforeItAndTheSalt() {
        let root = PrefixCache.rootHash(salt: 0)
        #expect(PrefixCache.rootHash(salt: 1) != root)
        #expect(hash(root, [1, 2]) != hash(root, [2, 1]))
        #expect(hash(root, [1, 2]) != hash(PrefixCache.rootHash(salt: 1), [1, 2]))
        #expect(hash(hash(root, [1, 2]), [3, 4]) != hash(hash(root, [9, 9]), [3, 4]))
        #expect(hash(hash(root, [1, 2]), [3, 4]) == hash(hash(root, [1, 2]), [3, 4]))
    }

    /// A match needs the hash, the stored tokens and the parent's identity (page and incarnation)
    /// to agree, so neither a hash collision nor a reused parent page can return a wrong page.
    @Test func matchesOnlyTheSameTokensHangingFromTheSameParent() {
        var cache = PrefixCache(pageCount: 4, tokensPerPage: 2)
        let first: [UInt32] = [1, 2]
        let second: [UInt32] = [5, 6]
        let rootHash = PrefixCache.rootHash(salt: 0)
        first.withUnsafeBufferPointer {
            cache.insert(PageID(0), hash: hash(rootHash, first), parent: .root(salt: 0), tokens: $0)
        }
        let parent = cache.identity(of: PageID(0))
        let childHash = hash(hash(rootHash, first), second)
        second.withUnsafeBufferPointer { cache.insert(PageID(1), hash: childHash, parent: parent, tokens: $0) }

        func match(_ pageHash: UInt64, _ parent: PrefixCache.Parent, _ pageTokens: [UInt32]) -> PageID? {
            pageTokens.withUnsafeBufferPointer { cache.page(hash: pageHash, parent: parent, tokens: $0) }
        }
        #expect(match(childHash, parent, second) == PageID(1))
        #expect(match(childHash, parent, [5, 7]) == nil)
        #expect(match(childHash, .root(salt: 0), second) == nil)
        #expect(match(childHash, PrefixCache.Parent(page: 2, key: parent.key), second) == nil)
        #expect(match(hash(rootHash, first), .root(salt: 1), first) == nil)

        // p0 leaves the cache (evicted) and comes back holding other tokens: a new incarnation,
        // so p1, cached under the old one, no longer matches from it.
        cache.appendEvictable(PageID(0))
        #expect(cache.evictOldest() == PageID(0))
        #expect(cache.isCurrent(parent) == false)
        [7, 7].withUnsafeBufferPointer {
            cache.insert(PageID(0), hash: hash(rootHash, [7, 7]), parent: .root(salt: 0), tokens: $0)
        }
        #expect(cache.identity(of: PageID(0)) == PrefixCache.Parent(page: 0, key: 1))
        #expect(match(childHash, cache.identity(of: PageID(0)), second) == nil)
    }

    /// A forged entry stands for a 64-bit collision: another prefix owns the hash of this
    /// prompt's first page. The prompt must not reuse it, and its own pages stay uncached.
    @Test func aHashCollisionIsAMissNeverAWrongPage() throws {
        var cache = KVCacheManager(layout: smallLayout(tokensPerPage: 2), pageCount: 8)
        let allocated = cache.pool.allocate()
        let forged = try #require(allocated)
        let collidingHash = hash(PrefixCache.rootHash(salt: 0), [1, 2])
        [3, 4].withUnsafeBufferPointer {
            cache.pool.prefixCache.insert(forged, hash: collidingHash, parent: .root(salt: 0), tokens: $0)
        }
        cache.pool.release(forged)
        #expect(cache.pool.evictablePagesInEvictionOrder == [forged])
        try cache._checkInvariants()

        #expect(cache.startSequence(seq(1), promptTokens: [1, 2, 5, 6, 7]) == 0)
        #expect(cache.pageTable(of: seq(1)).pages == pages(1, 2, 3))
        cache.markComputed(seq(1))
        #expect(cache.pool.cachedPageCount == 1)
        #expect(cache.startSequence(seq(2), promptTokens: [1, 2, 5, 6, 7]) == 0)
        #expect(cache.usage.prefixCacheHitPageCount == 0)
        try cache._checkInvariants()
    }
}

@Suite struct OutOfPagesTests {
    /// Every API that takes pages says so with nil or false when there are none, changes
    /// nothing, and works again once pages come back.
    @Test func runningOutIsAnOrdinaryResultEverywhere() throws {
        var pool = PagePool(pageCount: 2)
        let two = pool.allocate(pageCount: 2)
        #expect(two == pages(0, 1))
        let single = pool.allocate()
        let many = pool.allocate(pageCount: 1)
        var buffer: [PageID] = []
        let appended = pool.allocate(pageCount: 1, appendingTo: &buffer)
        #expect(single == nil && many == nil && !appended && buffer.isEmpty)
        try pool._checkInvariants()

        var cache = KVCacheManager(layout: smallLayout(), pageCount: 3)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1 ... 8)) == 0)
        cache.markComputed(seq(1))
        #expect(cache.startSequence(seq(2), promptTokens: tokens(1 ... 3)) == 0)
        cache.markComputed(seq(2))
        let before = cache.usage
        #expect(before.freePageCount == 0 && cache.availablePageCount == 0)
        #expect(cache.startSequence(seq(3), promptTokens: [42]) == nil)
        let token = cache.append(token: 9, to: seq(1))
        let array = cache.append([9, 10], to: seq(1))
        let forked = cache.fork(seq(2), into: seq(4))
        #expect(!token && !array && !forked)
        #expect(cache.pageCountNeeded(toAppend: 1, to: seq(1)) == 1)
        #expect(cache.usage == before)
        #expect(cache.contains(seq(3)) == false && cache.contains(seq(4)) == false)
        // Appending into the free slot of the partial page needs no page.
        let fits = cache.append(token: 4, to: seq(2))
        #expect(fits)
        try cache._checkInvariants()

        cache.release(seq(2))
        let forkedLater = cache.fork(seq(1), into: seq(4))
        #expect(forkedLater)
        #expect(cache.pageTable(of: seq(4)).pages == pages(0, 1))
        let appendedLater = cache.append(token: 9, to: seq(1))
        #expect(appendedLater)
        try cache._checkInvariants()
    }
}
