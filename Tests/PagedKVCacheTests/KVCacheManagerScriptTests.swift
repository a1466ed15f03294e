import Testing

@testable import PagedKVCache

/// One scripted life of a small cache (4-token pages, 8 pages), with the exact page ids, free
/// order and eviction order after every step.
@Suite struct KVCacheManagerScriptTests {
    @Test func startShareForkReleaseAndEvictInExactOrder() throws {
        var cache = KVCacheManager(layout: smallLayout(), pageCount: 8)
        func refs(_ indices: Int...) -> [Int] { indices.map { cache.pool.referenceCount(of: PageID($0)) } }

        // s1: 10 prompt tokens in p0 p1 p2. Once computed, its two full pages are cached.
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1 ... 10)) == 0)
        #expect(cache.pageTable(of: seq(1)).pages == pages(0, 1, 2))
        #expect(cache.pool.cachedPageCount == 0)
        cache.markComputed(seq(1))
        #expect([0, 1, 2].map { cache.pool.isCached(PageID($0)) } == [true, true, false])
        try cache._checkInvariants()

        // s2 shares the first 8 tokens: p0 p1 reused, p3 for its own last page.
        #expect(cache.startSequence(seq(2), promptTokens: tokens(1 ... 8) + [11, 12]) == 8)
        #expect(cache.pageTable(of: seq(2)).pages == pages(0, 1, 3))
        cache.markComputed(seq(2))

        // s3's prompt is exactly two pages; the last token must be computed, so only p0 is
        // reused and its second page is computed again into p4, which is not cached (p1 holds it).
        #expect(cache.startSequence(seq(3), promptTokens: tokens(1 ... 8)) == 4)
        #expect(cache.pageTable(of: seq(3)).pages == pages(0, 4))
        cache.markComputed(seq(3))
        #expect(cache.pool.isCached(PageID(4)) == false)
        #expect(cache.pool.cachedPageCount == 2)
        let appended = cache.append(token: 9, to: seq(3))
        #expect(appended)
        #expect(cache.pageTable(of: seq(3)).pages == pages(0, 4, 5))
        cache.markComputed(seq(3))
        try cache._checkInvariants()

        // s4 forks s1: shares p0 p1, copies its partial p2 into p6.
        let forked = cache.fork(seq(1), into: seq(4))
        #expect(forked)
        #expect(cache.pageTable(of: seq(4)).pages == pages(0, 1, 6))
        #expect(cache.tokenCount(of: seq(4)) == 10)
        #expect(refs(0, 1, 2, 3, 4, 5, 6, 7) == [4, 3, 1, 1, 1, 1, 1, 0])
        let usage = cache.usage
        #expect((usage.sequenceCount, usage.logicalTokenCount, usage.storedTokenCount) == (4, 39, 19))
        #expect((usage.usedPageCount, usage.freePageCount, usage.evictablePageCount) == (7, 1, 0))
        #expect((usage.bytesInUse, usage.minimumBytes, usage.wasteBytes) == (448, 304, 144))
        try cache._checkInvariants()

        // Out of pages: a 12-token unrelated prompt needs 3 pages, 1 is free. Nothing changes.
        #expect(cache.startSequence(seq(5), promptTokens: tokens(20 ... 31)) == nil)
        #expect(cache.contains(seq(5)) == false)
        #expect(cache.usage == usage)

        // Releases go last page first. Uncached pages go free; cached ones wait, evictable.
        cache.release(seq(1))
        #expect(cache.pool.freePagesInAllocationOrder == pages(2, 7))
        cache.release(seq(2))
        cache.release(seq(4))
        #expect(cache.pool.evictablePagesInEvictionOrder == pages(1))
        cache.release(seq(3))
        #expect(cache.pool.freePagesInAllocationOrder == pages(4, 5, 6, 3, 2, 7))
        #expect(cache.pool.evictablePagesInEvictionOrder == pages(1, 0))
        try cache._checkInvariants()

        // A new prompt with the cached prefix takes both evictable pages back, then gives them back.
        #expect(cache.startSequence(seq(6), promptTokens: tokens(1 ... 8) + [13]) == 8)
        #expect(cache.pageTable(of: seq(6)).pages == pages(0, 1, 4))
        #expect(cache.pool.evictablePageCount == 0)
        cache.release(seq(6))
        #expect(cache.pool.evictablePagesInEvictionOrder == pages(1, 0))

        // 28 new tokens need 7 pages: the 6 free ones, then the oldest evictable, p1.
        #expect(cache.startSequence(seq(7), promptTokens: tokens(100 ... 127)) == 0)
        #expect(cache.pageTable(of: seq(7)).pages == pages(4, 5, 6, 3, 2, 7, 1))
        #expect(cache.pool.evictablePagesInEvictionOrder == pages(0))
        #expect(cache.pool.isCached(PageID(1)) == false)
        try cache._checkInvariants()

        // p0 still hits but p1's prefix is gone; the 2 pages still needed are not there, and the
        // failed start leaves p0 evictable.
        #expect(cache.startSequence(seq(8), promptTokens: tokens(1 ... 9)) == nil)
        #expect(cache.pool.evictablePagesInEvictionOrder == pages(0))
        cache.release(seq(7))
        #expect(cache.pool.freePagesInAllocationOrder == pages(4, 5, 6, 3, 2, 7, 1))
        #expect((cache.usage.prefixCacheHitPageCount, cache.usage.prefixCacheMissPageCount) == (5, 8))
        #expect((cache.usage.freePageCount, cache.usage.evictablePageCount, cache.usage.usedPageCount) == (7, 1, 0))
        try cache._checkInvariants()
    }

    @Test func pagesEnterTheCacheOnlyOnceComputed() throws {
        var cache = KVCacheManager(layout: smallLayout(), pageCount: 8)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1 ... 13)) == 0)
        // Chunked prefill: 6 tokens computed so far, so only the first page is cached.
        cache.markComputed(seq(1), tokenCount: 6)
        #expect(cache.pool.cachedPageCount == 1)
        #expect(cache.startSequence(seq(2), promptTokens: tokens(1 ... 13)) == 4)
        cache.markComputed(seq(1), tokenCount: 13)
        #expect(cache.pool.cachedPageCount == 3)
        #expect(cache.startSequence(seq(3), promptTokens: tokens(1 ... 13)) == 12)
        #expect(cache.pageTable(of: seq(3)).pages == pages(0, 1, 2, 7))
        try cache._checkInvariants()
    }

    @Test func saltsKeepPrefixesApartAndDisabledCachingNeverHits() throws {
        var cache = KVCacheManager(layout: smallLayout(), pageCount: 16)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1 ... 9), salt: 7) == 0)
        cache.markComputed(seq(1))
        #expect(cache.startSequence(seq(2), promptTokens: tokens(1 ... 9)) == 0)
        #expect(cache.startSequence(seq(3), promptTokens: tokens(1 ... 9), salt: 7) == 8)
        try cache._checkInvariants()

        var uncached = KVCacheManager(layout: smallLayout(), pageCount: 16, prefixCaching: false)
        #expect(uncached.startSequence(seq(1), promptTokens: tokens(1 ... 9)) == 0)
        uncached.markComputed(seq(1))
        #expect(uncached.startSequence(seq(2), promptTokens: tokens(1 ... 9)) == 0)
        #expect(uncached.pageTable(of: seq(2)).pages == pages(3, 4, 5))
        uncached.release(seq(1))
        #expect(Array(uncached.pool.freePagesInAllocationOrder.prefix(3)) == pages(0, 1, 2))
        #expect(uncached.usage.evictablePageCount == 0)
        try uncached._checkInvariants()
    }

    @Test func forkCopiesThePartialPagesBytesAndSharesTheFullOnes() throws {
        let layout = smallLayout()
        var cache = KVCacheManager(storage: try PageStorage(layout: layout, pageCount: 5))
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1 ... 6)) == 0)
        let table = cache.pageTable(of: seq(1))
        cache.withMutableStorage { storage in
            storage.withUnsafeMutableBufferPointer(of: Float.self) { elements in
                for position in 0 ..< 6 {
                    for isValue in [false, true] {
                        let offset = layout.elementOffset(slot: table.slot(at: position), layer: 0, isValue: isValue, kvHead: 0)
                        elements[offset] = Float(100 * position + (isValue ? 1 : 0))
                    }
                }
            }
        }
        cache.markComputed(seq(1))
        let forked = cache.fork(seq(1), into: seq(2))
        #expect(forked)
        let child = cache.pageTable(of: seq(2))
        #expect(child.pages == pages(0, 2))
        cache.withStorage { storage in
            storage.withUnsafeBufferPointer(of: Float.self) { elements in
                for position in 0 ..< 6 {
                    let offset = layout.elementOffset(slot: child.slot(at: position), layer: 0, isValue: true, kvHead: 0)
                    #expect(elements[offset] == Float(100 * position + 1))
                }
            }
        }
        // Both grow apart from here, each into a page of its own.
        let grown = (cache.append([7, 8, 9], to: seq(1)), cache.append([17, 18, 19], to: seq(2)))
        #expect(grown == (true, true))
        #expect(cache.pageTable(of: seq(1)).pages == pages(0, 1, 3))
        #expect(cache.pageTable(of: seq(2)).pages == pages(0, 2, 4))
        try cache._checkInvariants()
    }
}
