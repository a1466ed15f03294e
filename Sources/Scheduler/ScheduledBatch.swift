import PagedKVCache

/// What one step computes: for each scheduled sequence, the positions whose keys and values
/// (and, at the end of the known tokens, logits) this step produces. The slots of those
/// positions are already reserved in the sequence's page table.
public struct ScheduledBatch: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var id: SequenceID
        /// Positions computed this step: a prompt chunk, or the one newest token.
        public var positions: Range<Int>
        /// True when the chunk ends at the newest token, so its logits choose the next token.
        public var wantsLogits: Bool

        public init(id: SequenceID, positions: Range<Int>, wantsLogits: Bool) {
            self.id = id
            self.positions = positions
            self.wantsLogits = wantsLogits
        }
    }

    public var entries: [Entry] = []
    /// Sequences whose pages were taken back this step, to be recomputed when readmitted.
    public var preempted: [SequenceID] = []

    public init() {}

    public var tokenCount: Int { entries.reduce(0) { $0 + $1.positions.count } }
    public var isEmpty: Bool { entries.isEmpty }
}
