extension KVCacheManager {
    /// Starts sequence `child` as a copy of `parent` (n > 1 samples, beam search): the child
    /// shares every full page of the parent (one more reference each) and gets its own copy of
    /// the partial last page, bytes included (only the slots written) when the manager has storage. Only full pages are
    /// ever shared, so neither sequence can write into a page the other reads.
    ///
    /// The parent's reserved positions must all be marked computed (the copy takes the partial
    /// page's bytes as they are now).
    ///
    /// - Returns: false when the partial page cannot be copied for lack of a page; nothing
    ///   changes then.
    /// - Complexity: O(pages of the parent + tokens of the parent × bytes per token).
    public mutating func fork(_ parent: SequenceID, into child: SequenceID) -> Bool {
        let parentSlot = liveSlot(of: parent)
        precondition(slotOfSequence[child] == nil, "\(child) is live already")
        let parentTable = sequences[parentSlot].table
        precondition(
            sequences[parentSlot].computedTokenCount == parentTable.tokenCount,
            "\(parent) has reserved positions not yet computed")
        let sharedPageCount = parentTable.fullPageCount
        let hasPartialPage = parentTable.pageCount > sharedPageCount
        var copy: PageID?
        if hasPartialPage {
            guard let page = pool.allocate() else { return false }
            copy = page
        }
        let childSlot = takeVacantSlot()
        for index in 0 ..< sharedPageCount {
            pool.retain(parentTable[index])
            sequences[childSlot].table.append(parentTable[index])
        }
        if let copy, let source = parentTable.lastPage {
            sequences[childSlot].table.append(copy)
            // Only the slots the parent wrote: the rest of the page is the child's to write.
            let writtenSlots = parentTable.tokenCount - sharedPageCount * layout.tokensPerPage
            if storage != nil { storage!.copyPage(from: source, to: copy, tokenCount: writtenSlots) }
        }
        sequences[childSlot].table.appendTokens(parentTable.tokenCount)
        if isPrefixCachingEnabled {
            let tokens = sequences[parentSlot].tokens
            sequences[childSlot].tokens.append(contentsOf: tokens)
        }
        sequences[childSlot].computedTokenCount = sequences[parentSlot].computedTokenCount
        sequences[childSlot].chain = sequences[parentSlot].chain
        slotOfSequence[child] = childSlot
        return true
    }
}

extension KVCacheManager {
    /// True when the manager owns K/V memory (it was made from a ``PageStorage``).
    public var hasStorage: Bool { storage != nil }

    /// Calls `body` with the K/V memory of every page. The manager must have storage.
    public func withStorage<Result, Failure: Error>(
        _ body: (borrowing PageStorage) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        // A borrowing switch: `body(storage!)` crashes the Swift 6.3 optimizer (CopyPropagation)
        // on this non-copyable optional.
        switch storage {
        case .some(let storage): return try body(storage)
        case .none: preconditionFailure("this KVCacheManager keeps the books only: no storage")
        }
    }

    /// Calls `body` with the K/V memory of every page, for writing. The manager must have storage.
    public mutating func withMutableStorage<Result, Failure: Error>(
        _ body: (inout PageStorage) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        precondition(storage != nil, "this KVCacheManager keeps the books only: no storage")
        return try body(&storage!)
    }
}
