extension PagePool {
    /// Checks that every page is in exactly one state (free, evictable or referenced), that the
    /// counts add up to the pool size, that free and evictable pages agree with the prefix cache,
    /// and that the cache's hash map and eviction list are consistent. For tests and debug builds.
    /// - Complexity: O(`pageCount`).
    public func _checkInvariants() throws(KVCacheInvariantViolation) {
        typealias Violation = KVCacheInvariantViolation
        let freeList = freePages.pagesInPopOrder()
        try Violation.check(freeList.count == freePageCount, "free stack holds \(freeList.count) pages, count says \(freePageCount)")
        let evictableList = prefixCache.evictablePagesInEvictionOrder
        try Violation.check(
            evictableList.count == evictablePageCount,
            "eviction list holds \(evictableList.count) pages, count says \(evictablePageCount)")
        var isFree = Array(repeating: false, count: pageCount)
        for page in freeList {
            try Violation.check(!isFree[page.index], "\(page) is on the free stack twice")
            isFree[page.index] = true
        }
        var isEvictable = Array(repeating: false, count: pageCount)
        for page in evictableList {
            try Violation.check(!isEvictable[page.index], "\(page) is in the eviction list twice")
            isEvictable[page.index] = true
        }
        var usedCount = 0
        for index in 0 ..< pageCount {
            let page = PageID(index)
            let referenced = referenceCounts[index] > 0
            let states = (isFree[index] ? 1 : 0) + (isEvictable[index] ? 1 : 0) + (referenced ? 1 : 0)
            try Violation.check(
                states == 1,
                "\(page) is free: \(isFree[index]), evictable: \(isEvictable[index]), referenced: \(referenced)")
            try Violation.check(!isFree[index] || !prefixCache.contains(page), "free \(page) is still cached")
            try Violation.check(!isEvictable[index] || prefixCache.contains(page), "evictable \(page) is not cached")
            try Violation.check(
                isEvictable[index] == prefixCache.isEvictable(page), "\(page)'s eviction links disagree with the list")
            if referenced { usedCount += 1 }
        }
        try Violation.check(usedCount == usedPageCount, "\(usedCount) pages referenced, count says \(usedPageCount)")
        try Violation.check(
            freePageCount + evictablePageCount + usedPageCount == pageCount,
            "free \(freePageCount) + evictable \(evictablePageCount) + used \(usedPageCount) != \(pageCount)")
        try prefixCache._checkInvariants()
    }
}

extension PrefixCache {
    /// Checks that the hash map and the per-page records name the same pages, and that the
    /// eviction list's links run both ways.
    /// - Complexity: O(pages).
    public func _checkInvariants() throws(KVCacheInvariantViolation) {
        typealias Violation = KVCacheInvariantViolation
        guard isEnabled else {
            try Violation.check(pageOfHash.isEmpty && evictablePageCount == 0, "a disabled cache holds pages")
            return
        }
        for (hash, page) in pageOfHash {
            try Violation.check(
                isCached[Int(page)] && hashOfPage[Int(page)] == hash, "hash \(hash) maps to p\(page), which disagrees")
        }
        let cachedCount = isCached.lazy.filter { $0 }.count
        try Violation.check(cachedCount == pageOfHash.count, "\(cachedCount) pages cached, \(pageOfHash.count) hashes")
        var previous = Self.none
        var page = oldest
        while page != Self.none {
            try Violation.check(older[Int(page)] == previous, "eviction list links of p\(page) do not run both ways")
            previous = page
            page = newer[Int(page)]
        }
        try Violation.check(newest == previous, "the newest evictable page is p\(newest), the list ends at p\(previous)")
    }
}
