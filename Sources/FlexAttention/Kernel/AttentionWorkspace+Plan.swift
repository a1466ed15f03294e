extension AttentionWorkspace {
    /// Query tiles of at most this many rows (decode, and the short runs of speculative or
    /// chunked steps) are split into one unit per KV chunk, so that one long sequence keeps every
    /// core busy; longer tiles are one unit each (prefill has parallelism to spare).
    @usableFromInline static let maxSplitRows = 4

    /// Fills ``units`` and ``mergeGroups`` for a call and returns the number of partial states.
    ///
    /// Whether a tile is split depends only on its own row count and tiles, and splitting does not
    /// change its arithmetic (see ``AttentionPass``): the plan decides only who does the work.
    /// Units are listed with the longest query tiles of a sequence first, which balances prefill
    /// (the last tiles of a causal prompt have the most keys).
    @inlinable
    func plan<Mask>(sequences: [AttentionSequence], blockMask: BlockMask<Mask>, kvHeadCount: Int) -> Int {
        units.removeAll(keepingCapacity: true)
        mergeGroups.removeAll(keepingCapacity: true)
        var partialCount = 0
        for (b, sequence) in sequences.enumerated() {
            precondition(
                blockMask.queryCounts.indices.contains(b) && blockMask.queryCounts[b] == sequence.queryRows.count
                    && blockMask.kvLengths[b] == sequence.kvLength,
                "the block mask was built for other sequences than sequence \(b)")
            let queryTiles = blockMask.queryTileCount(sequence: b)
            for kvHead in 0..<kvHeadCount {
                for queryTile in (0..<queryTiles).reversed() {
                    let entry = blockMask.entry(sequence: b, headGroup: blockMask.headGroup(kvHead: kvHead), queryTile: queryTile)
                    let chunks = TileWalk(blockMask: blockMask, entry: entry).tileBounds.map {
                        $0.lowerBound / AttentionTiling.tilesPerChunk ..< ($0.upperBound - 1) / AttentionTiling.tilesPerChunk + 1
                    } ?? 0..<0
                    let rowCount = min(AttentionTiling.queryTileLength,
                                       sequence.queryRows.count - queryTile * AttentionTiling.queryTileLength)
                    guard rowCount <= Self.maxSplitRows && chunks.count > 1 else {
                        units.append(Unit(sequence: b, kvHead: kvHead, queryTile: queryTile, chunks: chunks, partialIndex: -1))
                        continue
                    }
                    mergeGroups.append(MergeGroup(sequence: b, kvHead: kvHead, queryTile: queryTile,
                                                  firstPartial: partialCount, count: chunks.count))
                    for chunk in chunks {
                        units.append(Unit(sequence: b, kvHead: kvHead, queryTile: queryTile, chunks: chunk..<chunk + 1,
                                          partialIndex: partialCount))
                        partialCount += 1
                    }
                }
            }
        }
        return partialCount
    }
}
