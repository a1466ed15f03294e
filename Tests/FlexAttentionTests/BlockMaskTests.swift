import FlexAttention
import Testing

@Suite struct BlockMaskTests {
    static let shape = AttentionShape(queryHeadCount: 9, kvHeadCount: 3, headSize: 64)

    @Test("causal prefill of 64 positions: partial diagonal, full below, skipped above")
    func causalPrefill() {
        let mask = BlockMask(mask: CausalMask(), queryCounts: [64], kvLengths: [64], shape: Self.shape)
        #expect(mask.visualization(sequence: 0) == "+.\n+.\n#+\n#+")
        #expect(mask.kvIndices(sequence: 0, headGroup: 0, queryTile: 2) == [1])
        #expect(mask.fullKvIndices(sequence: 0, headGroup: 0, queryTile: 3) == [0])
        #expect(mask.partialTileCount == 4 && mask.fullTileCount == 2 && mask.totalTileCount == 8)
        #expect(mask.sparsity == 0.25)
        #expect(mask.headGroupCount == 1 && mask.queryHeadsPerGroup == 9)
        #expect(mask.description.contains("4 partial, 2 full, 2 skipped; sparsity 25.0%"))
    }

    @Test("decode: one query at the end of its context sees every tile fully")
    func causalDecode() {
        let mask = BlockMask(mask: CausalMask(), queryCounts: [1, 1], kvLengths: [1000, 33], shape: Self.shape)
        #expect(mask.fullKvIndices(sequence: 0, headGroup: 0, queryTile: 0) == ArraySlice(Int32(0)..<32))
        #expect(mask.kvIndices(sequence: 0, headGroup: 0, queryTile: 0).isEmpty)
        #expect(mask.fullKvIndices(sequence: 1, headGroup: 0, queryTile: 0) == [0, 1])
        #expect(mask.sparsity == 0)
    }

    @Test("a sliding window skips old tiles; the dense mask lists every tile as partial")
    func slidingWindowAndDense() {
        let window = BlockMask(mask: SlidingWindowMask(windowLength: 64), queryCounts: [1], kvLengths: [1024], shape: Self.shape)
        // Position 1023 sees 960...1023: tiles 30 and 31, both fully.
        #expect(window.fullKvIndices(sequence: 0, headGroup: 0, queryTile: 0) == [30, 31])
        #expect(window.sparsity == 30.0 / 32.0)
        let dense = BlockMask.dense(mask: SlidingWindowMask(windowLength: 64), queryCounts: [1], kvLengths: [1024],
                                    shape: Self.shape)
        #expect(dense.kvIndices(sequence: 0, headGroup: 0, queryTile: 0) == ArraySlice(Int32(0)..<32))
        #expect(dense.fullTileCount == 0 && dense.sparsity == 0)
    }

    struct OddHeadsBlind: MaskMod {
        func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool { h % 2 == 0 && kvIdx <= qIdx }
    }

    @Test("a head-dependent mask gets one row per KV head, the union of its query heads")
    func headGroups() {
        let shape = AttentionShape(queryHeadCount: 4, kvHeadCount: 4, headSize: 32)
        let mask = BlockMask(mask: OddHeadsBlind(), queryCounts: [1], kvLengths: [40], shape: shape)
        #expect(mask.headGroupCount == 4 && mask.queryHeadsPerGroup == 1)
        #expect(mask.fullKvIndices(sequence: 0, headGroup: 0, queryTile: 0) == [0, 1])
        #expect(mask.fullKvIndices(sequence: 0, headGroup: 1, queryTile: 0).isEmpty)
        #expect(mask.kvIndices(sequence: 0, headGroup: 1, queryTile: 0).isEmpty)
        // Grouped 2 query heads per KV head: each group mixes a blind and a seeing head.
        let grouped = BlockMask(mask: OddHeadsBlind(), queryCounts: [1], kvLengths: [40],
                                shape: AttentionShape(queryHeadCount: 4, kvHeadCount: 2, headSize: 32))
        #expect(grouped.kvIndices(sequence: 0, headGroup: 1, queryTile: 0) == [0, 1])
    }
}
