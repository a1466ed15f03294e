/// One attention call, with everything its work units read: the packed queries and output, the
/// sequences, where their keys and values live, the block mask and the score modifier. Generic
/// over all three, so each combination the program uses is compiled into its own kernel.
///
/// A unit covers the rows of one query tile that share one KV head (`rows × groupSize` softmax
/// states, row-major: state `r` is row `r / groupSize`, head `r % groupSize` of the group). It
/// walks its KV tiles chunk by chunk in ascending order (the block mask's partial and full lists
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

    /// Floats of one worker slot: the running and the chunk state, a tile of scores and one of
    /// corrections, for the largest unit (a full query tile).
    @inlinable
    var slotFloatCount: Int {
        let rows = AttentionTiling.queryTileLength * shape.groupSize
        return 2 * SoftmaxState.floatCount(rowCount: rows, headSize: shape.headSize)
            + rows * (AttentionTiling.kvTileLength + 1)
    }

    /// Floats of the partial state of one split unit.
    @inlinable
    var partialFloatCount: Int {
        SoftmaxState.floatCount(rowCount: AttentionWorkspace.maxSplitRows * shape.groupSize, headSize: shape.headSize)
    }

    /// The query rows of unit-level coordinates.
    @inlinable
    func rowRange(sequence: AttentionSequence, queryTile: Int) -> Range<Int> {
        let start = queryTile * AttentionTiling.queryTileLength
        return start..<min(sequence.queryRows.count, start + AttentionTiling.queryTileLength)
    }

    /// The output row of state `r` of a unit whose first row is `rows.lowerBound`.
    @inlinable
    func outputRow(sequence: AttentionSequence, rows: Range<Int>, kvHead: Int, state r: Int) -> UnsafeMutablePointer<Float> {
        let groupSize = shape.groupSize
        let packedRow = sequence.queryRows.lowerBound + rows.lowerBound + r / groupSize
        return output + packedRow * shape.queryRowStride + (kvHead * groupSize + r % groupSize) * shape.headSize
    }

    /// Runs one unit with the slot's scratch memory.
    @inlinable
    func run(_ unit: AttentionWorkspace.Unit, scratch: UnsafeMutablePointer<Float>,
             rowPointers: UnsafeMutablePointer<UnsafeRawPointer>, partials: UnsafeMutablePointer<Float>) {
        let b = Int(unit.sequence), kvHead = Int(unit.kvHead), queryTile = Int(unit.queryTile)
        let sequence = sequences[b]
        let rows = rowRange(sequence: sequence, queryTile: queryTile)
        let stateCount = rows.count * shape.groupSize
        let maxStates = AttentionTiling.queryTileLength * shape.groupSize
        let stateFloats = SoftmaxState.floatCount(rowCount: maxStates, headSize: shape.headSize)
        let splitIndex = Int(unit.partialIndex)
        let running = SoftmaxState(
            base: splitIndex >= 0 ? partials + splitIndex * partialFloatCount : scratch,
            rowCount: stateCount, headSize: shape.headSize)
        let chunkState = SoftmaxState(base: scratch + stateFloats, rowCount: stateCount, headSize: shape.headSize)
        let tile = TileAccumulator(
            pass: self, sequenceIndex: b, sequence: sequence, kvHead: kvHead, rows: rows,
            scores: scratch + 2 * stateFloats, rowPointers: rowPointers)

        let entry = blockMask.entry(sequence: b, headGroup: blockMask.headGroup(kvHead: kvHead), queryTile: queryTile)
        var tiles = TileWalk(blockMask: blockMask, entry: entry)
        running.reset()
        for chunk in Int(unit.chunkLower)..<Int(unit.chunkUpper) {
            let state = chunk == Int(unit.chunkLower) ? running : chunkState
            if chunk != Int(unit.chunkLower) { state.reset() }
            tiles.skip(below: chunk * AttentionTiling.tilesPerChunk)
            while let (index, isFull) = tiles.next(below: (chunk + 1) * AttentionTiling.tilesPerChunk) {
                tile.accumulate(tile: index, isFull: isFull, into: state)
            }
            if chunk != Int(unit.chunkLower) { running.merge(chunkState) }
        }
        if splitIndex < 0 {
            running.normalize { outputRow(sequence: sequence, rows: rows, kvHead: kvHead, state: $0) }
        }
    }

    /// Folds the partial states of one split query tile in chunk order and writes its output.
    @inlinable
    func merge(_ group: AttentionWorkspace.MergeGroup, partials: UnsafeMutablePointer<Float>) {
        let sequence = sequences[Int(group.sequence)]
        let rows = rowRange(sequence: sequence, queryTile: Int(group.queryTile))
        let stateCount = rows.count * shape.groupSize
        func state(_ i: Int) -> SoftmaxState {
            SoftmaxState(base: partials + (Int(group.firstPartial) + i) * partialFloatCount,
                         rowCount: stateCount, headSize: shape.headSize)
        }
        let running = state(0)
        for i in 1..<Int(group.count) { running.merge(state(i)) }
        running.normalize { outputRow(sequence: sequence, rows: rows, kvHead: Int(group.kvHead), state: $0) }
    }
}
