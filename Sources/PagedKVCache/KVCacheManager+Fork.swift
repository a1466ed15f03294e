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
        let groupCount = layerGroups.groupCount
        precondition(
            sequences[parentSlot].computedTokenCount == sequences[parentSlot].table.tokenCount,
            "\(parent) has reserved positions not yet computed")
        let sharedPageCount = sequences[parentSlot].table.fullPageCount
        let hasPartialPage = sequences[parentSlot].table.pageCount > sharedPageCount
        if hasPartialPage { guard pool.availablePageCount >= groupCount else { return false } }
        let childSlot = takeVacantSlot()
        for group in 0..<groupCount {
            let parentTable = sequences[parentSlot].tables[group]
            // Pages a window group gave back stay given back: no query of the child sees them.
            sequences[childSlot].tables[group].appendReleased(parentTable.releasedPageCount)
            for index in parentTable.releasedPageCount ..< sharedPageCount {
                pool.retain(parentTable[index])
                sequences[childSlot].tables[group].append(parentTable[index])
            }
            if hasPartialPage, let source = parentTable.lastPage {
                let copy = pool.allocate()!
                sequences[childSlot].tables[group].append(copy)
                // Only the slots the parent wrote: the rest of the page is the child's to write.
                let writtenSlots = parentTable.tokenCount - sharedPageCount * layout.tokensPerPage
                if storage != nil { storage!.copyPage(from: source, to: copy, tokenCount: writtenSlots) }
            }
            sequences[childSlot].tables[group].appendTokens(parentTable.tokenCount)
            sequences[childSlot].chains[group] = sequences[parentSlot].chains[group]
        }
        if isPrefixCachingEnabled {
            let tokens = sequences[parentSlot].tokens
            sequences[childSlot].tokens.append(contentsOf: tokens)
        }
        sequences[childSlot].computedTokenCount = sequences[parentSlot].computedTokenCount
        sequences[childSlot].salt = sequences[parentSlot].salt
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
