/// The only owner of pages: their reference counts, the free stack and the prefix cache.
///
/// Every page is in exactly one of three states, and the counts always add up to ``pageCount``:
///
/// ```
///               allocate (pop)                 release to 0, page cached
///   ┌──────┐ ─────────────────► ┌────────────┐ ─────────────────────────► ┌───────────┐
///   │ free │                    │ referenced │                            │ evictable │
///   └──────┘ ◄───────────────── └────────────┘ ◄───────────────────────── └───────────┘
///      ▲       release to 0,         ▲   retain (prefix-cache hit)             │
///      │       page not cached       └─────────────────────────────────────────┤
///      └───────────────────────── (never: eviction hands the page straight out) ┘
///                                    allocate when the free stack is empty: evict the oldest
/// ```
///
/// Allocation pops the free stack (LIFO, so a page just released is reused while it is warm in
/// the caches) and evicts the least recently released cached page only when the stack is empty.
/// Running out of pages is an ordinary result: `nil` or `false`, never a trap. Misuse (releasing
/// a page nobody holds, retaining a free page) is a programmer error and traps.
///
/// The pool has one owner: call it from one task or thread. Allocation and release are O(1) and
/// never allocate memory.
public struct PagePool: ~Copyable {
    public let pageCount: Int
    /// Free pages. Only the pool pushes and pops it, from its owner's thread; the stack is
    /// lock-free so that it could be shared, not because the pool shares it.
    let freePages: FreePageStack
    var referenceCounts: [UInt32]
    var prefixCache: PrefixCache

    /// Pages on the free stack.
    public private(set) var freePageCount: Int
    /// Pages referenced by at least one page table.
    public private(set) var usedPageCount = 0

    /// Creates a pool of `pageCount` free pages.
    ///
    /// - Parameters:
    ///   - pageCount: at most ``FreePageStack/maxCapacity``.
    ///   - prefixCacheTokensPerPage: the page size when full pages may be cached for reuse by
    ///     later sequences; nil disables the prefix cache (released pages always go free).
    /// - Complexity: O(`pageCount`), O(`pageCount × prefixCacheTokensPerPage`) with caching.
    public init(pageCount: Int, prefixCacheTokensPerPage: Int? = nil) {
        precondition(pageCount >= 0 && pageCount <= FreePageStack.maxCapacity, "page count \(pageCount) out of range")
        self.pageCount = pageCount
        self.freePages = FreePageStack(capacity: pageCount, full: true)
        self.referenceCounts = Array(repeating: 0, count: pageCount)
        self.prefixCache = PrefixCache(pageCount: pageCount, tokensPerPage: prefixCacheTokensPerPage ?? 0)
        self.freePageCount = pageCount
    }

    /// Cached pages that no table references: evicted, oldest first, when the free stack is empty.
    public var evictablePageCount: Int { prefixCache.evictablePageCount }

    /// Pages an allocation can hand out: free plus evictable.
    public var availablePageCount: Int { freePageCount + prefixCache.evictablePageCount }

    /// Pages in the prefix cache, referenced or evictable.
    public var cachedPageCount: Int { prefixCache.cachedPageCount }

    /// The number of page tables holding `page`.
    public func referenceCount(of page: PageID) -> Int { Int(referenceCounts[page.index]) }

    /// The evictable pages, first to be evicted first.
    /// - Complexity: O(``evictablePageCount``).
    public var evictablePagesInEvictionOrder: [PageID] { prefixCache.evictablePagesInEvictionOrder }

    /// The free pages, in the order allocations would take them.
    /// - Complexity: O(``freePageCount``).
    public var freePagesInAllocationOrder: [PageID] { freePages.pagesInPopOrder() }

    /// True when `page` is in the prefix cache.
    public func isCached(_ page: PageID) -> Bool { prefixCache.contains(page) }

    // MARK: Allocation

    /// Takes one page, with a reference count of one: from the free stack, or, when that is
    /// empty, by evicting the least recently released cached page. Nil when neither has a page.
    public mutating func allocate() -> PageID? {
        let page: PageID
        if let free = freePages.pop() {
            freePageCount -= 1
            page = free
        } else if let evicted = prefixCache.evictOldest() {
            page = evicted
        } else {
            return nil
        }
        referenceCounts[page.index] = 1
        usedPageCount += 1
        return page
    }

    /// Takes `pageCount` pages, or none when fewer are available (then nothing changes).
    /// Allocates the returned array; ``allocate(pageCount:appendingTo:)-(_,inout [PageID])`` and
    /// ``allocate()`` do not allocate memory.
    /// - Complexity: O(`pageCount`).
    public mutating func allocate(pageCount: Int) -> [PageID]? {
        var pages: [PageID] = []
        pages.reserveCapacity(pageCount)
        return allocate(pageCount: pageCount, appendingTo: &pages) ? pages : nil
    }

    /// Appends `pageCount` pages to `pages` and returns true, or returns false and changes
    /// nothing when fewer are available. Does not allocate memory when `pages` has the capacity.
    /// - Complexity: O(`pageCount`).
    public mutating func allocate(pageCount: Int, appendingTo pages: inout [PageID]) -> Bool {
        precondition(pageCount >= 0, "negative page count")
        guard pageCount <= availablePageCount else { return false }
        for _ in 0 ..< pageCount { pages.append(allocate()!) }
        return true
    }

    /// Appends `pageCount` pages to `table` and returns true, or returns false and changes
    /// nothing when fewer are available.
    /// - Complexity: O(`pageCount`).
    public mutating func allocate(pageCount: Int, appendingTo table: inout PageTable) -> Bool {
        precondition(pageCount >= 0, "negative page count")
        guard pageCount <= availablePageCount else { return false }
        for _ in 0 ..< pageCount { table.append(allocate()!) }
        return true
    }

    // MARK: Reference counting

    /// Adds a reference to a referenced page, or brings an evictable page back into use.
    public mutating func retain(_ page: PageID) {
        let count = referenceCounts[page.index]
        if count == 0 {
            precondition(prefixCache.isEvictable(page), "retain of \(page), which is free")
            prefixCache.removeEvictable(page)
            usedPageCount += 1
        }
        referenceCounts[page.index] = count + 1
    }

    /// Moves `page` to the newest end of the evictable list when it is evictable (nobody holds
    /// it): a sequence just used the prefix it holds without retaining it (a window group's page
    /// behind the window).
    public mutating func touch(_ page: PageID) {
        if prefixCache.isEvictable(page) { prefixCache.touchEvictable(page) }
    }

    /// Drops a reference. At zero the page becomes evictable if it is cached, free otherwise.
    public mutating func release(_ page: PageID) {
        let count = referenceCounts[page.index]
        precondition(count > 0, "release of \(page), which nobody holds")
        referenceCounts[page.index] = count - 1
        guard count == 1 else { return }
        usedPageCount -= 1
        if prefixCache.contains(page) {
            prefixCache.appendEvictable(page)
        } else {
            freePages.push(page)
            freePageCount += 1
        }
    }
}
