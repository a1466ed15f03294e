/// The evictable pages: cached pages nobody references, in an intrusive doubly-linked list from
/// the least recently released (`oldest`, evicted first) to the most recently released.
///
/// ```
///  oldest ─► p4 ⇄ p9 ⇄ p1 ◄─ newest          newer[p4] = p9, older[p9] = p4, …
/// ```
extension PrefixCache {
    /// True when `page` is in the evictable list.
    public func isEvictable(_ page: PageID) -> Bool {
        guard isEnabled else { return false }
        return newer[page.index] != Self.none || older[page.index] != Self.none || oldest == page.rawValue
    }

    /// The evictable pages, first to be evicted first.
    /// - Complexity: O(``evictablePageCount``).
    public var evictablePagesInEvictionOrder: [PageID] {
        var pages: [PageID] = []
        var page = oldest
        while page != Self.none && pages.count <= evictablePageCount {
            pages.append(PageID(rawValue: page))
            page = newer[Int(page)]
        }
        return pages
    }

    /// Puts a cached page whose last reference went away at the newest end of the list.
    mutating func appendEvictable(_ page: PageID) {
        precondition(isCached[page.index] && !isEvictable(page), "\(page) is not a referenced cached page")
        let raw = page.rawValue
        older[page.index] = newest
        if newest == Self.none { oldest = raw } else { newer[Int(newest)] = raw }
        newest = raw
        evictablePageCount += 1
    }

    /// Takes an evictable page out of the list because a sequence references it again.
    mutating func removeEvictable(_ page: PageID) {
        precondition(isEvictable(page), "\(page) is not evictable")
        let before = older[page.index]
        let after = newer[page.index]
        if before == Self.none { oldest = after } else { newer[Int(before)] = after }
        if after == Self.none { newest = before } else { older[Int(after)] = before }
        older[page.index] = Self.none
        newer[page.index] = Self.none
        evictablePageCount -= 1
    }

    /// Moves an evictable page to the newest end of the list: its prefix was just used again.
    mutating func touchEvictable(_ page: PageID) {
        removeEvictable(page)
        appendEvictable(page)
    }

    /// Evicts the least recently released page: takes it out of the list and out of the cache,
    /// and returns it for reuse. Nil when no page is evictable.
    mutating func evictOldest() -> PageID? {
        guard oldest != Self.none else { return nil }
        let page = PageID(rawValue: oldest)
        removeEvictable(page)
        remove(page)
        return page
    }
}
