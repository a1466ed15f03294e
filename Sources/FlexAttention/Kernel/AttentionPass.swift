/// One attention call, with everything its work units read: the packed queries and output, the
/// sequences, where their keys and values live, the block mask and the score modifier. Generic
/// over all three, so each combination the program uses is compiled into its own kernel.
///
/// A unit covers the rows of one query tile for one or more KV heads (per KV head, `rows ×
/// groupSize` softmax states, row-major: state `r` is row `r / groupSize`, query head
/// `r % groupSize` of the group). It walks its KV tiles chunk by chunk in ascending order (the block mask's partial and full lists
/// merged), keeps each chunk's softmax state apart and folds it into the running one:
///
/// ```
///  chunk 0 tiles ──► state ────────────┐
///  chunk 1 tiles ──► chunk state ──► merge ──► ... ──► normalize ──► output rows
/// ```
///
/// A split decode unit does the same for one chunk and leaves the state for ``merge(_:partials:)``,
/// which folds the same states in the same order: the bits do not depend on the split.
@usableFromInline
struct AttentionPass<KV: KVLayout, Mask: MaskMod, Score: ScoreMod> {
    @usableFromInline let queries: UnsafePointer<Float>
    @usableFromInline let output: UnsafeMutablePointer<Float>
    @usableFromInline let sequences: [AttentionSequence]
    @usableFromInline let kv: KV
    @usableFromInline let shape: AttentionShape
    @usableFromInline let blockMask: BlockMask<Mask>
    @usableFromInline let scoreMod: Score

    @inlinable
    init(queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, sequences: [AttentionSequence], kv: KV,
         shape: AttentionShape, blockMask: BlockMask<Mask>, scoreMod: Score) {
        self.queries = queries
        self.output = output
        self.sequences = sequences
        self.kv = kv
        self.shape = shape
        self.blockMask = blockMask
        self.scoreMod = scoreMod
    }

    /// Softmax states of a unit at most: a full query tile of one KV head's query heads, or a
    /// short (split) tile of all query heads.
    @inlinable
    var maxStateCount: Int {
        max(AttentionTiling.queryTileLength * shape.groupSize, AttentionWorkspace.maxSplitRows * shape.queryHeadCount)
    }

    /// Floats of one worker slot: the running and the chunk states, then the tile scratch.
    @inlinable
    var slotFloatCount: Int {
        2 * SoftmaxState.floatCount(rowCount: maxStateCount, headSize: shape.headSize)
            + max(tileScratchFloatCount(stateCount: AttentionTiling.queryTileLength * shape.groupSize),
                  shape.kvHeadCount * tileScratchFloatCount(stateCount: AttentionWorkspace.maxSplitRows * shape.groupSize))
    }

    /// Row pointers of one worker slot: a tile's keys and values for every KV head.
    @inlinable
    var rowPointersPerSlot: Int { 2 * AttentionTiling.kvTileLength * shape.kvHeadCount }

    /// Floats of the partial states of one split unit.
    @inlinable
    var partialFloatCount: Int {
        SoftmaxState.floatCount(rowCount: AttentionWorkspace.maxSplitRows * shape.queryHeadCount, headSize: shape.headSize)
    }

    /// The query rows (of its sequence's run) of a query tile.
    @inlinable
    func rowRange(sequence: AttentionSequence, queryTile: Int) -> Range<Int> {
        let start = queryTile * AttentionTiling.queryTileLength
        return start..<min(sequence.queryRows.count, start + AttentionTiling.queryTileLength)
    }

    /// The states of the `index`th KV head of a unit whose states start at `base`: one
    /// ``SoftmaxState`` of `rows × groupSize` states per KV head, one after the other.
    @inlinable
    func headState(_ base: UnsafeMutablePointer<Float>, rows: Range<Int>, index: Int) -> SoftmaxState {
        let count = rows.count * shape.groupSize
        return SoftmaxState(base: base + index * SoftmaxState.floatCount(rowCount: count, headSize: shape.headSize),
                            rowCount: count, headSize: shape.headSize)
    }

    /// Writes the normalized states of KV head `kvHead` to their output rows.
    @inlinable
    func writeOutput(_ state: SoftmaxState, sequence: AttentionSequence, rows: Range<Int>, kvHead: Int) {
        let groupSize = shape.groupSize
        state.normalize { r in
            let packedRow = sequence.queryRows.lowerBound + rows.lowerBound + r / groupSize
            return output + packedRow * shape.queryRowStride + (kvHead * groupSize + r % groupSize) * shape.headSize
        }
    }

    /// Runs one unit with the slot's scratch memory.
    @inlinable
    func run(_ unit: AttentionWorkspace.Unit, scratch: UnsafeMutablePointer<Float>,
             rowPointers: UnsafeMutablePointer<UnsafeRawPointer>, partials: UnsafeMutablePointer<Float>) {
        let b = Int(unit.sequence), queryTile = Int(unit.queryTile), kvHeads = unit.kvHeads
        let sequence = sequences[b]
        let rows = rowRange(sequence: sequence, queryTile: queryTile)
        let stateSetFloats = SoftmaxState.floatCount(rowCount: maxStateCount, headSize: shape.headSize)
        let splitIndex = Int(unit.partialIndex)
        let runningBase = splitIndex >= 0 ? partials + splitIndex * partialFloatCount : scratch
        let chunkBase = scratch + stateSetFloats, tileScratch = scratch + 2 * stateSetFloats
        let entry = blockMask.entry(sequence: b, headGroup: blockMask.headGroup(kvHead: kvHeads.lowerBound),
                                    queryTile: queryTile)
        var tiles = TileWalk(blockMask: blockMask, entry: entry)
        for index in 0..<kvHeads.count { headState(runningBase, rows: rows, index: index).reset() }
        for chunk in Int(unit.chunkLower)..<Int(unit.chunkUpper) {
            // The first chunk is summed straight into the running states, the others apart first.
            let isFirst = chunk == Int(unit.chunkLower)
            let base = isFirst ? runningBase : chunkBase
            if !isFirst { for index in 0..<kvHeads.count { headState(base, rows: rows, index: index).reset() } }
            tiles.skip(below: chunk * AttentionTiling.tilesPerChunk)
            while let (tile, isFull) = tiles.next(below: (chunk + 1) * AttentionTiling.tilesPerChunk) {
                accumulate(tile: tile, isFull: isFull, sequenceIndex: b, sequence: sequence, kvHeads: kvHeads, rows: rows,
                           states: base, scratch: tileScratch, rowPointers: rowPointers)
            }
            if !isFirst {
                for index in 0..<kvHeads.count {
                    headState(runningBase, rows: rows, index: index).merge(headState(chunkBase, rows: rows, index: index))
                }
            }
        }
        if splitIndex < 0 {
            for (index, kvHead) in kvHeads.enumerated() {
                writeOutput(headState(runningBase, rows: rows, index: index), sequence: sequence, rows: rows, kvHead: kvHead)
            }
        }
    }

    /// Folds the partial states of one split query tile in chunk order and writes its output.
    @inlinable
    func merge(_ group: AttentionWorkspace.MergeGroup, partials: UnsafeMutablePointer<Float>) {
        let sequence = sequences[Int(group.sequence)]
        let rows = rowRange(sequence: sequence, queryTile: Int(group.queryTile))
        let first = partials + Int(group.firstPartial) * partialFloatCount
        for (index, kvHead) in group.kvHeads.enumerated() {
            let running = headState(first, rows: rows, index: index)
            for i in 1..<Int(group.count) {
                running.merge(headState(first + i * partialFloatCount, rows: rows, index: index))
            }
            writeOutput(running, sequence: sequence, rows: rows, kvHead: kvHead)
        }
    }
}
