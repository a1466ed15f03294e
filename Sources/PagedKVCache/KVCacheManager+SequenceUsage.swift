extension KVCacheManager {
    /// What one live sequence holds now, over all its layer groups: its pages, how many of them it shares (a reference count
    /// above one: held by another sequence too, or one of its `reusedLeadingPageCount` first pages,
    /// which it found in the prefix cache), and its empty slots (the partial last page).
    public struct SequenceUsage: Sendable, Hashable {
        public var pageCount: Int
        public var sharedPageCount: Int
        public var emptySlotCount: Int
    }

    /// The pages sequence `id` holds and shares now.
    /// - Complexity: O(pages of the sequence).
    public func sequenceUsage(of id: SequenceID, reusedLeadingPageCount: Int = 0) -> SequenceUsage {
        var usage = SequenceUsage(pageCount: 0, sharedPageCount: 0, emptySlotCount: 0)
        for table in sequences[liveSlot(of: id)].tables {
            for index in table.releasedPageCount..<table.pageCount
            where index < reusedLeadingPageCount || pool.referenceCount(of: table[index]) > 1 {
                usage.sharedPageCount += 1
            }
            usage.pageCount += table.heldPageCount
            usage.emptySlotCount += table.freeTokenCount
        }
        return usage
    }
}
