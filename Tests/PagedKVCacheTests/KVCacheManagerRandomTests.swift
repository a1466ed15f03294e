import SplitMix
import PropertyBased
import Testing

@testable import PagedKVCache

@Suite struct KVCacheManagerRandomTests {
    /// Thousands of seeded random operations (start, compute, append, fork, release) over a pool
    /// small enough to run out often, with every invariant and every sequence's keys and values
    /// checked after each step.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func seededRandomOperationsKeepEveryInvariant(seed: UInt64) throws {
        var simulator = CacheSimulator(pageCount: 24)
        var random = SplitMix64(seed: seed)
        for _ in 0 ..< 2_000 {
            simulator.apply(random.next())
            try simulator.verify()
        }
        let usage = simulator.cache.usage
        #expect(usage.prefixCacheHitPageCount > 0)
        #expect(simulator.outOfPagesCount > 0)
        #expect(simulator.forkCount > 0)
        simulator.releaseAll()
        try simulator.verify()
        #expect(simulator.cache.usage.usedPageCount == 0)
        #expect(simulator.cache.usage.freePageCount + simulator.cache.usage.evictablePageCount == 24)
    }

    /// No interleaving of operations over many sequences loses a page or hands one to two
    /// holders: after any script, with every sequence released, each of the pool's pages is
    /// exactly once free or evictable, and on the way every reference count matched the tables.
    @Test func noInterleavingLosesOrDoubleHandsAPage() async {
        await propertyCheck(count: 100, input: Gen.int(in: 0 ... Int.max).array(of: 1 ... 150)) { words in
            var simulator = CacheSimulator(pageCount: 16)
            for word in words {
                simulator.apply(UInt64(word))
                try simulator.verify()
            }
            simulator.releaseAll()
            try simulator.verify()
            let released = simulator.cache.pool.freePagesInAllocationOrder
                + simulator.cache.pool.evictablePagesInEvictionOrder
            #expect(released.sorted() == (0 ..< 16).map(PageID.init))
        }
    }
}
