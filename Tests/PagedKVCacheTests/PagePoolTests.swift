import Testing

@testable import PagedKVCache

@Suite struct PagePoolTests {
    @Test func allocatesInIndexOrderAndReusesReleasedPagesLastInFirstOut() throws {
        var pool = PagePool(pageCount: 4)
        #expect(pool.allocate() == PageID(0))
        #expect(pool.allocate(pageCount: 2) == pages(1, 2))
        #expect((pool.freePageCount, pool.usedPageCount, pool.evictablePageCount) == (1, 3, 0))
        pool.release(PageID(1))
        pool.release(PageID(0))
        #expect(pool.freePagesInAllocationOrder == pages(0, 1, 3))
        #expect(pool.allocate() == PageID(0))
        #expect(pool.allocate() == PageID(1))
        #expect(pool.allocate() == PageID(3))
        #expect(pool.allocate() == nil)
        #expect((pool.freePageCount, pool.usedPageCount) == (0, 4))
        try pool._checkInvariants()
    }

    @Test func multiPageAllocationIsAllOrNothing() throws {
        var pool = PagePool(pageCount: 5)
        var buffer: [PageID] = []
        buffer.reserveCapacity(8)
        let first = pool.allocate(pageCount: 3, appendingTo: &buffer)
        #expect(first && buffer == pages(0, 1, 2))
        let second = pool.allocate(pageCount: 3, appendingTo: &buffer)
        let third = pool.allocate(pageCount: 3)
        #expect(!second && third == nil)
        #expect(buffer == pages(0, 1, 2))
        #expect(pool.freePagesInAllocationOrder == pages(3, 4))
        var table = PageTable(tokensPerPage: 4)
        let tooMany = pool.allocate(pageCount: 3, appendingTo: &table)
        #expect(!tooMany && table.pageCount == 0)
        let enough = pool.allocate(pageCount: 2, appendingTo: &table)
        #expect(enough && table.pages == pages(3, 4))
        #expect(pool.allocate(pageCount: 0) == [])
        #expect(pool.allocate(pageCount: 1) == nil)
        try pool._checkInvariants()
    }

    @Test func referenceCountsFreeAPageOnlyWhenTheLastHolderReleases() throws {
        var pool = PagePool(pageCount: 2)
        let allocated = pool.allocate()
        let page = try #require(allocated)
        pool.retain(page)
        pool.retain(page)
        #expect(pool.referenceCount(of: page) == 3)
        pool.release(page)
        pool.release(page)
        #expect(pool.referenceCount(of: page) == 1)
        #expect(pool.freePagesInAllocationOrder == pages(1))
        pool.release(page)
        #expect(pool.referenceCount(of: page) == 0)
        #expect(pool.freePagesInAllocationOrder == pages(0, 1))
        try pool._checkInvariants()
    }

    /// Cached pages outlive their last reference as evictable pages, and are evicted oldest
    /// first only once the free stack is empty.
    @Test func cachedPagesBecomeEvictableAndAreEvictedOldestFirstWhenNothingIsFree() throws {
        var pool = PagePool(pageCount: 4, prefixCacheTokensPerPage: 2)
        let allocated = pool.allocate(pageCount: 4)
        let held = try #require(allocated)
        #expect(held == pages(0, 1, 2, 3))
        // Cache p2 and p0 as the pages of two unrelated one-page prefixes.
        for (page, pageTokens) in [(PageID(2), [UInt32(7), 8]), (PageID(0), [9, 10])] {
            var chain = PrefixCache.Chain(salt: 0)
            pageTokens.withUnsafeBufferPointer { pool.cacheFullPage(page, tokens: $0, chain: &chain) }
            #expect(chain.parent == pool.prefixCache.identity(of: page))
        }
        #expect(pool.cachedPageCount == 2)
        for page in pages(2, 3, 0, 1) { pool.release(page) }
        #expect(pool.evictablePagesInEvictionOrder == pages(2, 0))
        #expect(pool.freePagesInAllocationOrder == pages(1, 3))
        #expect((pool.freePageCount, pool.evictablePageCount, pool.availablePageCount) == (2, 2, 4))
        try pool._checkInvariants()

        // A hit brings p2 back into use and out of the eviction order.
        pool.retain(PageID(2))
        #expect(pool.evictablePagesInEvictionOrder == pages(0))
        pool.release(PageID(2))
        #expect(pool.evictablePagesInEvictionOrder == pages(0, 2))

        #expect(pool.allocate(pageCount: 2) == pages(1, 3))
        #expect(pool.cachedPageCount == 2)
        #expect(pool.allocate() == PageID(0))
        #expect(pool.isCached(PageID(0)) == false)
        #expect(pool.allocate() == PageID(2))
        #expect(pool.allocate() == nil)
        #expect(pool.cachedPageCount == 0)
        try pool._checkInvariants()
        // Evicted pages are ordinary pages again: released, they go free.
        pool.release(PageID(2))
        #expect(pool.freePagesInAllocationOrder == pages(2))
        try pool._checkInvariants()
    }
}

@Suite struct PageTableTests {
    @Test func slotsAreThePageTimesTokensPerPagePlusTheOffset() {
        var table = PageTable(tokensPerPage: 4, pageCapacity: 3)
        #expect(table.pageCountNeeded(forAppending: 9) == 3)
        table.append(PageID(7))
        table.append(PageID(2))
        table.append(PageID(9))
        table.appendTokens(10)
        #expect(table.pages == pages(7, 2, 9))
        #expect((table.tokenCount, table.tokenCapacity, table.freeTokenCount, table.fullPageCount) == (10, 12, 2, 2))
        #expect((0 ..< 10).map(table.slot(at:)) == [28, 29, 30, 31, 8, 9, 10, 11, 36, 37])
        #expect(table.pageCountNeeded(forAppending: 2) == 0)
        #expect(table.pageCountNeeded(forAppending: 3) == 1)
        #expect(table.pageCountNeeded(forAppending: 10) == 2)
        #expect(table.lastPage == PageID(9))
        table.withUnsafeEntries { #expect(Array($0) == [7, 2, 9]) }
    }

    @Test(arguments: [1, 2, 16, 1024])
    func slotsMatchThePageLayoutForPageSizesFromOneTo1024(tokensPerPage: Int) throws {
        let layout = try PageLayout(tokensPerPage: tokensPerPage, layerCount: 2, kvHeadCount: 2, headSize: 4)
        var table = PageTable(tokensPerPage: tokensPerPage)
        let tokenCount = 3 * tokensPerPage - 1 + (tokensPerPage == 1 ? 1 : 0)
        for page in pages(5, 0, 3).prefix(table.pageCountNeeded(forAppending: tokenCount)) { table.append(page) }
        table.appendTokens(tokenCount)
        for position in [0, tokensPerPage - 1, tokensPerPage, tokenCount - 1] {
            let page = table[position / tokensPerPage]
            let offset = position % tokensPerPage
            #expect(table.slot(at: position) == page.index * tokensPerPage + offset)
            #expect(
                layout.elementOffset(slot: table.slot(at: position), layer: 1, isValue: true, kvHead: 1)
                    == layout.elementOffset(page: page, layer: 1, isValue: true, kvHead: 1, tokenInPage: offset))
        }
    }
}
