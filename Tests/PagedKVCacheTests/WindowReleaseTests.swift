import Testing

@testable import PagedKVCache

/// Layer groups and the sliding-window page release: a window group gives back exactly the
/// pages no later query can see, keeps the books (invariants after every step), shares and forks
/// what it still holds, and serves prefix hits from the window's pages; a model without windows
/// keeps one group and releases nothing.
@Suite struct WindowReleaseTests {
    /// Two groups of one layer, 4-token pages: group 0 global, group 1 through an 8-token window;
    /// pages go back whole 4-position tiles behind the window.
    static let groups = KVLayerGroups(layers: [[0], [1]], windowLengths: [nil, 8])

    func manager(pages: Int, alignment: Int? = 4, prefixCaching: Bool = true) -> KVCacheManager {
        KVCacheManager(
            layout: smallLayout(), pageCount: pages, prefixCaching: prefixCaching, maxTokensPerSequence: 64,
            layerGroups: Self.groups, windowReleaseAlignment: alignment)
    }

    @Test func gemmaLayersFormSixGroupsOfThree() {
        let g = KVLayerGroups(layerCount: 18) { $0 % 6 == 5 ? nil : 512 }
        #expect(g.groupCount == 6 && g.layersPerGroup == 3)
        #expect(g.layers[0] == [5, 11, 17] && g.windowLengths[0] == nil)
        #expect(g.layers[1] == [0, 1, 2] && g.layers[5] == [14, 15, 16])
        #expect(g.windowLengths[1...].allSatisfy { $0 == 512 })
        for layer in 0..<18 { #expect(g.layers[g.groupOfLayer[layer]][g.indexInGroup[layer]] == layer) }
        let smol = KVLayerGroups(layerCount: 30) { _ in nil }
        #expect(smol == .single(layerCount: 30) && !smol.hasWindowGroups)
    }

    @Test func theWindowGroupGivesBackExactlyThePagesOutOfEveryLaterWindow() throws {
        var cache = manager(pages: 64)
        let prompt = tokens(1...22)
        #expect(cache.startSequence(seq(1), promptTokens: prompt, maxNewSlots: 5) == 0)
        #expect(cache.tokenCount(of: seq(1)) == 5)
        var computed = 0
        // Prefill in chunks of 5, reserving each chunk as it is scheduled, then decode to 40.
        while computed < prompt.count {
            let end = min(prompt.count, computed + 5)
            let reserved = cache.tokenCount(of: seq(1))
            if reserved < end {
                let appended = cache.append(Array(prompt[reserved..<end]), to: seq(1))
                #expect(appended)
            }
            cache.markComputed(seq(1), tokenCount: end)
            computed = end
            try check(cache, computed: computed)
        }
        for token in 23...40 {
            let appended = cache.append(token: UInt32(token), to: seq(1))
            #expect(appended)
            cache.markComputed(seq(1))
            try check(cache, computed: token)
        }
        // At 40 computed, the next query (40) sees 33...40: tile 32..35 stays, pages 0..7 went.
        let window = cache.pageTable(of: seq(1), group: 1)
        #expect(window.releasedPageCount == 8 && window.heldPageCount == 2)
        #expect(cache.pageTable(of: seq(1), group: 0).heldPageCount == 10)
        // Full window pages were cached before they went: they wait in the LRU, evictable.
        #expect(cache.usage.evictablePageCount == 8)
        cache.release(seq(1))
        try cache._checkInvariants()
        #expect(cache.usage.usedPageCount == 0)
    }

    /// After `computed` positions: the global group holds every page, the window group those
    /// from the tile of `computed − 7` on; the invariants hold.
    func check(_ cache: borrowing KVCacheManager, computed: Int) throws {
        try cache._checkInvariants()
        let global = cache.pageTable(of: seq(1), group: 0), window = cache.pageTable(of: seq(1), group: 1)
        #expect(global.releasedPageCount == 0)
        #expect(window.releasedPageCount == max(0, computed - 7) / 4, "at \(computed)")
        #expect(window.heldPages.count == window.pageCount - window.releasedPageCount)
        #expect(global.tokenCount == window.tokenCount)
    }

    @Test func releaseFollowsTheAlignmentNotThePage() throws {
        // Tiles of 8 positions over 4-token pages: a page goes only with its whole tile.
        var cache = manager(pages: 64, alignment: 8)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1...21)) == 0)
        cache.markComputed(seq(1))
        // The query at 21 sees 14...21: the tile 8..15 stays, so only pages 0 and 1 go.
        #expect(cache.pageTable(of: seq(1), group: 1).releasedPageCount == 2)
        try cache._checkInvariants()
        cache.release(seq(1))
    }

    @Test func keepingTheWindowPagesIsTheBaseline() throws {
        var cache = manager(pages: 64, alignment: nil)
        let releases = cache.releasesWindowPages
        #expect(releases == false)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1...40)) == 0)
        cache.markComputed(seq(1))
        #expect(cache.pageTable(of: seq(1), group: 1).releasedPageCount == 0)
        #expect(cache.usage.usedPageCount == 20)
        try cache._checkInvariants()
        cache.release(seq(1))
        // One group of every layer: nothing to release even when asked.
        let single = KVCacheManager(layout: smallLayout(), pageCount: 8, windowReleaseAlignment: 4)
        let (singleReleases, singleGroups) = (single.releasesWindowPages, single.groupCount)
        #expect(singleReleases == false && singleGroups == 1)
    }

    @Test func aPrefixHitRetainsOnlyTheWindowsPages() throws {
        var cache = manager(pages: 64)
        let prompt = tokens(1...41)
        #expect(cache.startSequence(seq(1), promptTokens: prompt) == 0)
        cache.markComputed(seq(1))
        let firstWindow = cache.pageTable(of: seq(1), group: 1)
        cache.release(seq(1))
        try cache._checkInvariants()
        #expect(cache.usage.usedPageCount == 0)
        // The same prompt: 10 full pages hit in both groups (the last token is computed again);
        // the window group retains pages 8 and 9 (the query at 40 sees 33...40).
        #expect(cache.startSequence(seq(2), promptTokens: prompt) == 40)
        let window = cache.pageTable(of: seq(2), group: 1)
        #expect(window.releasedPageCount == 8)
        #expect(window[8] == firstWindow[8] && window[9] == firstWindow[9])
        #expect(cache.pageTable(of: seq(2), group: 0).heldPageCount == 11)
        try cache._checkInvariants()
        cache.markComputed(seq(2))
        try cache._checkInvariants()
        cache.release(seq(2))
        try cache._checkInvariants()
        #expect(cache.usage.usedPageCount == 0)
    }

    @Test func groupsNeverShareAPageThroughThePrefixCache() throws {
        // Both groups hold the same tokens; a hit must come from each group's own pages.
        var cache = manager(pages: 64, alignment: nil)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1...9)) == 0)
        cache.markComputed(seq(1))
        #expect(cache.startSequence(seq(2), promptTokens: tokens(1...9)) == 8)
        for group in 0..<2 {
            #expect(cache.pageTable(of: seq(2), group: group).heldPages.prefix(2) == cache.pageTable(of: seq(1), group: group).heldPages.prefix(2))
        }
        #expect(Set(cache.heldPages(of: seq(1))).count == 6)
        try cache._checkInvariants()
        cache.release(seq(1))
        cache.release(seq(2))
    }

    @Test func underPressureAWindowChainLosesItsTailFirst() throws {
        // 24 pages: s1 (41 tokens: 11 pages per group) leaves 20 evictable pages. The window
        // group's first 8 went back while s1 ran, but its release moves them after the held
        // pages, so eviction goes from the last page to the first across both groups.
        var cache = manager(pages: 24)
        let prompt = tokens(1...41)
        #expect(cache.startSequence(seq(1), promptTokens: prompt) == 0)
        let (global, window) = (cache.pageTable(of: seq(1), group: 0), cache.pageTable(of: seq(1), group: 1))
        cache.markComputed(seq(1))
        #expect(cache.pageTable(of: seq(1), group: 1).releasedPageCount == 8)
        cache.release(seq(1))
        let afterFirst = cache.usage
        #expect(afterFirst.usedPageCount == 0 && afterFirst.evictablePageCount == 20)
        let order = cache.pool.evictablePagesInEvictionOrder
        #expect(order.prefix(4) == [global[9], window[9], global[8], window[8]])
        #expect(order.suffix(4) == [global[1], window[1], global[0], window[0]] && !order.contains(global[10]))
        try cache._checkInvariants()
        // Another prompt takes 12 pages: the 4 free ones, then the 8 oldest evictable (pages 9
        // down to 6 of both groups).
        #expect(cache.startSequence(seq(2), promptTokens: tokens(100...123)) == 0)
        cache.release(seq(2))
        // The chains still hold pages 0...5 in both groups: a hit of 24 tokens.
        #expect(cache.startSequence(seq(3), promptTokens: prompt) == 24)
        try cache._checkInvariants()
        cache.markComputed(seq(3))
        cache.release(seq(3))
        try cache._checkInvariants()
        #expect(cache.usage.usedPageCount == 0)
    }

    @Test func anEvictedEarlyWindowPageFallsBackToRecomputing() throws {
        // s1's window group gives back its first pages while it runs, and s1 stays live: a
        // second prompt under pressure evicts them, the oldest, and the same prompt then misses
        // (the global group's cached pages alone do not make a hit).
        var cache = manager(pages: 24)
        let prompt = tokens(1...41)
        #expect(cache.startSequence(seq(1), promptTokens: prompt) == 0)
        cache.markComputed(seq(1))
        #expect(cache.usage.evictablePageCount == 8)
        // 4 pages: the 2 free ones, then the window group's pages 0 and 1.
        #expect(cache.startSequence(seq(2), promptTokens: tokens(100...107)) == 0)
        #expect(cache.usage.evictablePageCount == 6)
        cache.release(seq(2))
        cache.release(seq(1))
        try cache._checkInvariants()
        #expect(cache.startSequence(seq(3), promptTokens: prompt) == 0)
        cache.markComputed(seq(3))
        cache.release(seq(3))
        try cache._checkInvariants()
        #expect(cache.usage.usedPageCount == 0)
    }

    @Test func aForkSharesTheHeldPagesAndKeepsTheReleasedOnesReleased() throws {
        var cache = manager(pages: 64)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1...30)) == 0)
        cache.markComputed(seq(1))
        let forked = cache.fork(seq(1), into: seq(2))
        #expect(forked)
        try cache._checkInvariants()
        let parent = cache.pageTable(of: seq(1), group: 1), child = cache.pageTable(of: seq(2), group: 1)
        #expect(child.releasedPageCount == parent.releasedPageCount && parent.releasedPageCount == 5)
        #expect(child.heldPages.dropLast() == parent.heldPages.dropLast())
        #expect(child.lastPage != parent.lastPage)
        for token in 31...36 {
            let appended = cache.append(token: UInt32(token), to: seq(2))
            #expect(appended)
            cache.markComputed(seq(2))
        }
        try cache._checkInvariants()
        #expect(cache.pageTable(of: seq(2), group: 1).releasedPageCount == 7)
        cache.release(seq(1))
        cache.release(seq(2))
        try cache._checkInvariants()
        #expect(cache.usage.usedPageCount == 0)
    }

    @Test func runningOutOfPagesInAnyGroupChangesNothing() throws {
        var cache = manager(pages: 5)
        // 9 tokens: 3 pages per group, 6 in all: more than the pool.
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1...9)) == nil)
        #expect(cache.startSequence(seq(1), promptTokens: tokens(1...8)) == 0)
        #expect(cache.append(token: 9, to: seq(1)) == false)
        try cache._checkInvariants()
        #expect(cache.append(tokens(9...12), to: seq(1)) == false)
        #expect(cache.tokenCount(of: seq(1)) == 8)
        try cache._checkInvariants()
        cache.release(seq(1))
    }

    @Test func aLongGemmaSequenceHoldsTheWindowNotTheLength() {
        // Gemma 3 270M's geometry: 6 groups of 3 layers, 16-token pages, a 4,096-token sequence.
        let groups = KVLayerGroups(layerCount: 18) { $0 % 6 == 5 ? nil : 512 }
        let layout = try! PageLayout(tokensPerPage: 16, layerCount: 3, kvHeadCount: 1, headSize: 256)
        let c = KVWindowComparison(
            layerGroups: groups, layout: layout, sequenceLength: 4096, promptLength: 2048, chunkTokenCount: 512,
            contextLength: 32768, releaseAlignment: 32)
        #expect(c.minimumLayerTokens == 15 * 512 + 3 * 4096)
        // 4,096 − 511 rounds down to 3,584, a page boundary: the window groups hold exactly 512.
        #expect(c.releasedLayerTokens == 15 * 512 + 3 * 4096)
        #expect(c.keptLayerTokens == 18 * 4096)
        #expect(c.contiguousLayerTokens == 18 * 32768)
        // At its fullest (the last prompt chunk in flight), the window groups held at most the
        // window, a tile, the chunk and two partial pages each.
        #expect(c.releasedPeakLayerTokens <= 3 * 4096 + 15 * (512 + 32 + 512 + 2 * 16))
        #expect(c.releasedPeakLayerTokens < c.keptLayerTokens)
        // 3,000 tokens: 3,000 − 511 = 2,489 rounds down to 2,464 (tile), page 154: 3,000 − 2,464 held.
        let odd = KVWindowComparison(
            layerGroups: groups, layout: layout, sequenceLength: 3000, promptLength: 1500, chunkTokenCount: 512,
            contextLength: 32768, releaseAlignment: 32)
        #expect(odd.releasedLayerTokens == 15 * (3008 - 2464) + 3 * 3008)
    }
}
