extension KVCacheManager {
    /// What one live sequence holds now: its pages, how many of them it shares (a reference count
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
        let table = sequences[liveSlot(of: id)].table
        var shared = 0
        for index in 0..<table.pageCount where index < reusedLeadingPageCount || pool.referenceCount(of: table[index]) > 1 {
            shared += 1
        }
        return SequenceUsage(pageCount: table.pageCount, sharedPageCount: shared, emptySlotCount: table.freeTokenCount)
    }
}
