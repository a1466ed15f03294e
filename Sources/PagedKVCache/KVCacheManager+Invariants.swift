extension KVCacheManager {
    /// Checks the pool's invariants (``PagePool/_checkInvariants()``) and those that tie it to
    /// the page tables: a page's reference count equals the number of tables holding it, no
    /// table holds a page twice, every table has exactly the pages its tokens need (so waste is
    /// at most one partial page per live sequence and layer group), a window group's table has
    /// given back exactly the pages out of every later query's window (and no other group any),
    /// partial pages are private, and the prefix chain of every group of every sequence matches
    /// what it has computed. For tests and debug builds.
    /// - Complexity: O(`pageCount` + pages of all live sequences).
    public func _checkInvariants() throws(KVCacheInvariantViolation) {
        typealias Violation = KVCacheInvariantViolation
        try pool._checkInvariants()
        let tokensPerPage = layout.tokensPerPage
        var holders = Array(repeating: 0, count: pool.pageCount)
        var lastHolder = Array(repeating: -1, count: pool.pageCount)
        var storedTokenCount = 0
        for (id, slot) in slotOfSequence {
            let state = sequences[slot]
            for group in 0..<layerGroups.groupCount {
                let table = state.tables[group]
                try Violation.check(
                    table.tokenCount == state.table.tokenCount,
                    "\(id) has \(table.tokenCount) tokens in group \(group), \(state.table.tokenCount) in group 0")
                try Violation.check(
                    table.pageCount == (table.tokenCount + tokensPerPage - 1) / tokensPerPage,
                    "\(id) holds \(table.pageCount) pages for \(table.tokenCount) tokens")
                let releasable = releasablePageCount(group: group, computedTokenCount: state.computedTokenCount)
                try Violation.check(
                    table.releasedPageCount == releasable,
                    "\(id) has released \(table.releasedPageCount) pages of group \(group), \(releasable) are out of every window")
                for index in 0 ..< table.releasedPageCount {
                    try Violation.check(
                        table.withUnsafeEntries { $0[index] } == PageTable.releasedEntry,
                        "\(id)'s released entry \(index) of group \(group) names a page")
                }
                for index in table.releasedPageCount ..< table.pageCount {
                    let page = table[index]
                    try Violation.check(page.index < pool.pageCount, "\(id) holds \(page), outside the pool")
                    try Violation.check(lastHolder[page.index] != slot, "\(id) holds \(page) twice")
                    lastHolder[page.index] = slot
                    if holders[page.index] == 0 { storedTokenCount += min(tokensPerPage, table.tokenCount - index * tokensPerPage) }
                    holders[page.index] += 1
                }
                if let last = table.lastPage, table.freeTokenCount > 0 {
                    try Violation.check(pool.referenceCount(of: last) == 1, "\(id)'s partial page \(last) is shared")
                    try Violation.check(!pool.isCached(last), "\(id)'s partial page \(last) is cached")
                }
                if isPrefixCachingEnabled {
                    try Violation.check(
                        state.chains[group].pageCount == state.computedTokenCount / tokensPerPage,
                        "\(id) has hashed \(state.chains[group].pageCount) pages of group \(group), computed \(state.computedTokenCount) tokens")
                }
            }
            try Violation.check(
                state.computedTokenCount <= state.table.tokenCount,
                "\(id) has \(state.computedTokenCount) tokens computed of \(state.table.tokenCount)")
            if isPrefixCachingEnabled {
                try Violation.check(state.tokens.count == state.table.tokenCount, "\(id) keeps \(state.tokens.count) token ids for \(state.table.tokenCount) tokens")
            }
        }
        for index in 0 ..< pool.pageCount {
            try Violation.check(
                pool.referenceCount(of: PageID(index)) == holders[index],
                "p\(index) has \(pool.referenceCount(of: PageID(index))) references, \(holders[index]) tables hold it")
        }
        for slot in vacantSlots {
            try Violation.check(sequences[slot].tables.allSatisfy { $0.pageCount == 0 }, "vacant slot \(slot) holds pages")
        }
        try Violation.check(
            vacantSlots.count + slotOfSequence.count == sequences.count, "sequence slots are lost or doubled")
        let usage = self.usage
        try Violation.check(
            usage.storedTokenCount == storedTokenCount,
            "usage reports \(usage.storedTokenCount) stored tokens, tables hold \(storedTokenCount)")
        try Violation.check(
            usage.wasteBytes >= 0
                && usage.wasteBytes
                    <= usage.sequenceCount * layerGroups.groupCount * (tokensPerPage - 1) * layout.bytesPerToken,
            "waste of \(usage.wasteBytes) B exceeds a partial page per sequence and layer group")
    }
}
