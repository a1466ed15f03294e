extension AttentionWorkspace {
    /// Query tiles of at most this many rows (decode, and the short runs of speculative or
    /// chunked steps) are split into one unit per KV chunk, so that one long sequence keeps every
    /// core busy; longer tiles are one unit each (prefill has parallelism to spare).
    @usableFromInline static let maxSplitRows = 4

    /// Fills ``units`` and ``mergeGroups`` for a call; returns the number of partial states and
    /// the number of (tile, KV head) steps, the measure of the call's work.
    ///
    /// Short query tiles (decode) take all KV heads in one unit when the mask does not depend on
    /// the head: a page then is read front to back (K and V of every head of one layer are
    /// adjacent in it) instead of in one slice per head. Long tiles take one KV head per unit.
    /// None of this changes the arithmetic of a row (see ``AttentionPass``): the plan decides only
    /// who does the work. Units are listed with the longest query tiles of a sequence first, which
    /// balances prefill (the last tiles of a causal prompt have the most keys).
    ///
    /// A short tile is split only when its chunks are more than a `threadCount`-th of a quarter of
    /// all short tiles' chunks: a batch of many decode sequences gives each its own unit, whose
    /// tiles follow each other (each prefetches the next, see ``AttentionPrefetch``), while one
    /// long sequence, or one much longer than the rest, still spreads over the cores. A whole
    /// tile folds its chunks in the order the merge of its split units would: the same bits.
    @inlinable
    func plan<Mask>(
        sequences: [AttentionSequence], blockMask: BlockMask<Mask>, kvHeadCount: Int, threadCount: Int = 1
    ) -> (partials: Int, steps: Int) {
        units.removeAll(keepingCapacity: true)
        mergeGroups.removeAll(keepingCapacity: true)
        var partialCount = 0, steps = 0
        func chunkRange(_ walk: TileWalk) -> Range<Int> {
            walk.tileBounds.map {
                $0.lowerBound / AttentionTiling.tilesPerChunk ..< ($0.upperBound - 1) / AttentionTiling.tilesPerChunk + 1
            } ?? 0..<0
        }
        func rowCount(_ sequence: AttentionSequence, queryTile: Int) -> Int {
            min(AttentionTiling.queryTileLength, sequence.queryRows.count - queryTile * AttentionTiling.queryTileLength)
        }
        // The chunks of every short tile, per head group: only a sequence's last query tile can be
        // short (the others hold a whole tile's rows).
        var shortChunks = 0
        for (b, sequence) in sequences.enumerated() where blockMask.queryCounts.indices.contains(b) {
            let lastTile = blockMask.queryTileCount(sequence: b) - 1
            guard lastTile >= 0, rowCount(sequence, queryTile: lastTile) <= Self.maxSplitRows else { continue }
            for headGroup in 0..<blockMask.headGroupCount {
                let walk = TileWalk(blockMask: blockMask, entry: blockMask.entry(sequence: b, headGroup: headGroup, queryTile: lastTile))
                shortChunks += chunkRange(walk).count
            }
        }
        let splitAbove = max(1, shortChunks / (4 * max(1, threadCount)))
        for (b, sequence) in sequences.enumerated() {
            precondition(
                blockMask.queryCounts.indices.contains(b) && blockMask.queryCounts[b] == sequence.queryRows.count
                    && blockMask.kvLengths[b] == sequence.kvLength,
                "the block mask was built for other sequences than sequence \(b)")
            let queryTiles = blockMask.queryTileCount(sequence: b)
            for queryTile in (0..<queryTiles).reversed() {
                let isShort = rowCount(sequence, queryTile: queryTile) <= Self.maxSplitRows
                let headsPerUnit = isShort && blockMask.headGroupCount == 1 ? kvHeadCount : 1
                for firstHead in stride(from: 0, to: kvHeadCount, by: headsPerUnit) {
                    let kvHeads = firstHead..<firstHead + headsPerUnit
                    let entry = blockMask.entry(sequence: b, headGroup: blockMask.headGroup(kvHead: firstHead), queryTile: queryTile)
                    let walk = TileWalk(blockMask: blockMask, entry: entry)
                    steps += walk.tileCount * headsPerUnit
                    let chunks = chunkRange(walk)
                    guard isShort && chunks.count > splitAbove else {
                        units.append(Unit(sequence: b, kvHeads: kvHeads, queryTile: queryTile, chunks: chunks, partialIndex: -1))
                        continue
                    }
                    mergeGroups.append(MergeGroup(sequence: b, kvHeads: kvHeads, queryTile: queryTile,
                                                  firstPartial: partialCount, count: chunks.count))
                    for chunk in chunks {
                        units.append(Unit(sequence: b, kvHeads: kvHeads, queryTile: queryTile, chunks: chunk..<chunk + 1,
                                          partialIndex: partialCount))
                        partialCount += 1
                    }
                }
            }
        }
        return (partialCount, steps)
    }
}
