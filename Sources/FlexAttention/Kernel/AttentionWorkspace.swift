import Synchronization

/// The scratch memory of ``AttentionKernel``: the list of work units of the current call, each
/// worker's tile buffers, and the partial softmax states of split decode rows. It grows to the
/// largest call seen and is then reused, so a steady decode loop allocates nothing.
///
/// Owned by one ``AttentionKernel`` and used by one call at a time (not `Sendable`); inside a
/// call, every worker writes only its own slot and its own units' partial states.
public final class AttentionWorkspace {
    /// One piece of parallel work: the rows of one query tile of one sequence, for the KV heads
    /// `kvHeads` (with all their query heads), over the KV chunks `chunks`. A unit with
    /// `partialIndex < 0` covers all of its rows' chunks and writes the final output; otherwise it
    /// covers one chunk and leaves its partial states at `partialIndex` for a ``MergeGroup``.
    @usableFromInline
    struct Unit {
        @usableFromInline var sequence: Int32
        @usableFromInline var kvHeadLower: Int32
        @usableFromInline var kvHeadUpper: Int32
        @usableFromInline var queryTile: Int32
        @usableFromInline var chunkLower: Int32
        @usableFromInline var chunkUpper: Int32
        @usableFromInline var partialIndex: Int32

        @inlinable
        init(sequence: Int, kvHeads: Range<Int>, queryTile: Int, chunks: Range<Int>, partialIndex: Int) {
            self.sequence = Int32(sequence)
            self.kvHeadLower = Int32(kvHeads.lowerBound)
            self.kvHeadUpper = Int32(kvHeads.upperBound)
            self.queryTile = Int32(queryTile)
            self.chunkLower = Int32(chunks.lowerBound)
            self.chunkUpper = Int32(chunks.upperBound)
            self.partialIndex = Int32(partialIndex)
        }

        @inlinable var kvHeads: Range<Int> { Int(kvHeadLower)..<Int(kvHeadUpper) }
    }

    /// The split units of one query tile and KV heads: partial states `firstPartial ..<
    /// firstPartial + count`, in chunk order, merged left to right into the output.
    @usableFromInline
    struct MergeGroup {
        @usableFromInline var sequence: Int32
        @usableFromInline var kvHeadLower: Int32
        @usableFromInline var kvHeadUpper: Int32
        @usableFromInline var queryTile: Int32
        @usableFromInline var firstPartial: Int32
        @usableFromInline var count: Int32

        @inlinable
        init(sequence: Int, kvHeads: Range<Int>, queryTile: Int, firstPartial: Int, count: Int) {
            self.sequence = Int32(sequence)
            self.kvHeadLower = Int32(kvHeads.lowerBound)
            self.kvHeadUpper = Int32(kvHeads.upperBound)
            self.queryTile = Int32(queryTile)
            self.firstPartial = Int32(firstPartial)
            self.count = Int32(count)
        }

        @inlinable var kvHeads: Range<Int> { Int(kvHeadLower)..<Int(kvHeadUpper) }
    }

    @usableFromInline var units: [Unit] = []
    @usableFromInline var mergeGroups: [MergeGroup] = []
    /// Per worker slot: `slotFloats` floats of states, scores and converted tiles.
    @usableFromInline private(set) var scratch = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    @usableFromInline private(set) var scratchCapacity = 0
    /// Per worker slot: a tile's key and value row pointers for each KV head.
    @usableFromInline private(set) var rowPointers = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: 0)
    @usableFromInline private(set) var rowPointerCapacity = 0
    /// Partial states of split units.
    @usableFromInline private(set) var partials = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    @usableFromInline private(set) var partialCapacity = 0
    /// The next unit to hand out.
    @usableFromInline let nextUnit = Atomic<Int>(0)

    public init() {}

    deinit {
        scratch.deallocate()
        rowPointers.deallocate()
        partials.deallocate()
    }

    /// Grows the buffers to hold `slots` worker slots and `partialFloats` of partial states.
    @usableFromInline
    func reserve(slots: Int, slotFloats: Int, rowPointersPerSlot: Int, partialFloats: Int) {
        if slots * slotFloats > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = slots * slotFloats
            scratch = .allocate(capacity: scratchCapacity)
        }
        if slots * rowPointersPerSlot > rowPointerCapacity {
            rowPointers.deallocate()
            rowPointerCapacity = slots * rowPointersPerSlot
            rowPointers = .allocate(capacity: rowPointerCapacity)
        }
        if partialFloats > partialCapacity {
            partials.deallocate()
            partialCapacity = partialFloats
            partials = .allocate(capacity: partialCapacity)
        }
    }

    /// Starts handing out the units of a new call, from the first.
    @inlinable
    func rewindUnits() { nextUnit.store(0, ordering: .relaxed) }

    /// The index of the next unit to run (past the end when all are taken).
    @inlinable
    func takeUnit() -> Int { nextUnit.wrappingAdd(1, ordering: .relaxed).oldValue }
}
