/// A mask at tile granularity: for each query tile of each sequence, the KV tiles whose pairs are
/// partly visible (the kernel evaluates the mask there) and those that are fully visible (no mask
/// call); every other tile is skipped. PyTorch's `BlockMask`, with the same four lists:
///
/// ```
///  causal, 40 queries over 40 keys      KV tile   0   1          kvIndices (partial):
///  (query tiles of 16, KV tiles of 32)  q tile 0  +   .            0: [0]   1: [0]   2: [1]
///                                       q tile 1  +   .          fullKvIndices:
///                                       q tile 2  #   +            0: []    1: []    2: [0]
/// ```
///
/// The lists are stored flat (compressed rows) rather than padded as in PyTorch; entry `e` of
/// sequence `b`, head group `g`, query tile `t` is `entryStart[b] + g·queryTiles(b) + t`. When
/// the mask ignores the head (``MaskMod/dependsOnHead``) there is one head group; otherwise one
/// per KV head, whose tiles are the union over the query heads that share it (GQA processes
/// them together).
///
/// Build it once per forward step and pass it to every layer: it depends only on the mask and the
/// sequences' lengths.
public struct BlockMask<Mask: MaskMod>: Sendable {
    public let mask: Mask
    /// New query rows of each sequence the mask was built for.
    public let queryCounts: [Int]
    /// Cached positions of each sequence the mask was built for.
    public let kvLengths: [Int]
    /// 1, or the KV head count when the mask depends on the head.
    public let headGroupCount: Int
    /// Query heads per head group (all query heads when there is one group).
    public let queryHeadsPerGroup: Int

    @usableFromInline var entryStart: [Int] = [0]
    @usableFromInline var partialStart: [Int] = [0]
    @usableFromInline var partialTiles: [Int32] = []
    @usableFromInline var fullStart: [Int] = [0]
    @usableFromInline var fullTiles: [Int32] = []

    /// Classifies every (query tile, KV tile) of every sequence with `mask`'s
    /// ``MaskMod/visibility(_:heads:queries:keys:)``.
    ///
    /// - Complexity: one visibility call per tile pair (and per head group when the mask depends
    ///   on the head).
    public init(mask: Mask, queryCounts: [Int], kvLengths: [Int], shape: AttentionShape) {
        self.init(mask: mask, queryCounts: queryCounts, kvLengths: kvLengths, shape: shape, classify: true)
    }

    /// The block mask of `sequences` (their query counts and KV lengths).
    public init(mask: Mask, sequences: [AttentionSequence], shape: AttentionShape) {
        self.init(mask: mask, queryCounts: sequences.map(\.queryRows.count), kvLengths: sequences.map(\.kvLength),
                  shape: shape)
    }

    /// Every tile partial: the kernel evaluates the mask on every pair and skips nothing. The
    /// dense-masked path, to check the block-sparse one against.
    public static func dense(mask: Mask, queryCounts: [Int], kvLengths: [Int], shape: AttentionShape) -> BlockMask {
        BlockMask(mask: mask, queryCounts: queryCounts, kvLengths: kvLengths, shape: shape, classify: false)
    }

    private init(mask: Mask, queryCounts: [Int], kvLengths: [Int], shape: AttentionShape, classify: Bool) {
        precondition(queryCounts.count == kvLengths.count, "one query count and one KV length per sequence")
        self.mask = mask
        self.queryCounts = queryCounts
        self.kvLengths = kvLengths
        self.headGroupCount = Mask.dependsOnHead ? shape.kvHeadCount : 1
        self.queryHeadsPerGroup = Mask.dependsOnHead ? shape.groupSize : shape.queryHeadCount
        let qTile = AttentionTiling.queryTileLength, kvTile = AttentionTiling.kvTileLength
        for (b, (queryCount, kvLength)) in zip(queryCounts, kvLengths).enumerated() {
            precondition(queryCount <= kvLength, "sequence \(b): \(queryCount) queries over \(kvLength) positions")
            let firstPosition = kvLength - queryCount
            let kvTiles = AttentionTiling.tileCount(kvLength, length: kvTile)
            for group in 0..<headGroupCount {
                // A head-independent mask is asked about head 0 only.
                let heads = Mask.dependsOnHead ? group * queryHeadsPerGroup ..< (group + 1) * queryHeadsPerGroup : 0..<1
                for queryTile in 0..<AttentionTiling.tileCount(queryCount, length: qTile) {
                    let queries = firstPosition + queryTile * qTile ..< firstPosition + min(queryCount, (queryTile + 1) * qTile)
                    for tile in 0..<kvTiles {
                        let keys = tile * kvTile ..< min(kvLength, (tile + 1) * kvTile)
                        let kind = classify ? mask.visibility(b, heads: heads, queries: queries, keys: keys) : .partial
                        switch kind {
                        case .empty: break
                        case .partial: partialTiles.append(Int32(tile))
                        case .full: fullTiles.append(Int32(tile))
                        }
                    }
                    partialStart.append(partialTiles.count)
                    fullStart.append(fullTiles.count)
                }
            }
            entryStart.append(partialStart.count - 1)
        }
    }

    /// Query tiles of sequence `b`.
    @inlinable
    public func queryTileCount(sequence b: Int) -> Int {
        AttentionTiling.tileCount(queryCounts[b], length: AttentionTiling.queryTileLength)
    }

    /// The head group that query heads of KV head `kvHead` use.
    @inlinable
    public func headGroup(kvHead: Int) -> Int { headGroupCount == 1 ? 0 : kvHead }

    @inlinable
    func entry(sequence b: Int, headGroup: Int, queryTile: Int) -> Int {
        entryStart[b] + headGroup * queryTileCount(sequence: b) + queryTile
    }

    /// PyTorch's `kv_indices[b, h, q]`: the partly visible KV tiles, ascending.
    @inlinable
    public func kvIndices(sequence b: Int, headGroup: Int, queryTile: Int) -> ArraySlice<Int32> {
        let e = entry(sequence: b, headGroup: headGroup, queryTile: queryTile)
        return partialTiles[partialStart[e]..<partialStart[e + 1]]
    }

    /// PyTorch's `full_kv_indices[b, h, q]`: the fully visible KV tiles, ascending.
    @inlinable
    public func fullKvIndices(sequence b: Int, headGroup: Int, queryTile: Int) -> ArraySlice<Int32> {
        let e = entry(sequence: b, headGroup: headGroup, queryTile: queryTile)
        return fullTiles[fullStart[e]..<fullStart[e + 1]]
    }

    /// Partly visible tiles, over all sequences, head groups and query tiles.
    public var partialTileCount: Int { partialTiles.count }
    /// Fully visible tiles.
    public var fullTileCount: Int { fullTiles.count }
    /// Every (query tile, KV tile) pair, head groups counted separately.
    public var totalTileCount: Int {
        zip(queryCounts, kvLengths).reduce(0) { sum, lengths in
            sum + headGroupCount * AttentionTiling.tileCount(lengths.0, length: AttentionTiling.queryTileLength)
                * AttentionTiling.tileCount(lengths.1, length: AttentionTiling.kvTileLength)
        }
    }

    /// The fraction of tiles skipped, as PyTorch's `BlockMask.sparsity()` (but in 0...1).
    public var sparsity: Double {
        let total = totalTileCount
        return total == 0 ? 0 : Double(total - partialTileCount - fullTileCount) / Double(total)
    }
}
