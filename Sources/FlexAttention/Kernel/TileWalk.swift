/// The KV tiles of one block-mask entry in ascending order: its partial and its full list
/// merged, each tile tagged with whether it is fully visible.
@usableFromInline
struct TileWalk {
    @usableFromInline let partial: ArraySlice<Int32>
    @usableFromInline let full: ArraySlice<Int32>
    @usableFromInline var partialIndex: Int
    @usableFromInline var fullIndex: Int

    @inlinable
    init<Mask>(blockMask: BlockMask<Mask>, entry: Int) {
        partial = blockMask.partialTiles[blockMask.partialStart[entry]..<blockMask.partialStart[entry + 1]]
        full = blockMask.fullTiles[blockMask.fullStart[entry]..<blockMask.fullStart[entry + 1]]
        partialIndex = partial.startIndex
        fullIndex = full.startIndex
    }

    /// Tiles to visit.
    @inlinable
    var tileCount: Int { partial.count + full.count }

    /// The first tile and the one past the last, or `nil` when the entry has no tile.
    @inlinable
    var tileBounds: Range<Int>? {
        let first = min(partial.first ?? .max, full.first ?? .max)
        let last = max(partial.last ?? -1, full.last ?? -1)
        return last < 0 ? nil : Int(first)..<Int(last) + 1
    }

    /// Moves past every tile below `tile` (binary search: split units start mid-list).
    @inlinable
    mutating func skip(below tile: Int) {
        partialIndex = Self.firstIndex(in: partial, from: partialIndex, notBelow: tile)
        fullIndex = Self.firstIndex(in: full, from: fullIndex, notBelow: tile)
    }

    /// The next tile below `limit` and whether it is fully visible.
    @inlinable
    mutating func next(below limit: Int) -> (tile: Int, isFull: Bool)? {
        let nextPartial = partialIndex < partial.endIndex ? Int(partial[partialIndex]) : .max
        let nextFull = fullIndex < full.endIndex ? Int(full[fullIndex]) : .max
        if nextPartial < nextFull {
            guard nextPartial < limit else { return nil }
            partialIndex += 1
            return (nextPartial, false)
        }
        guard nextFull < limit else { return nil }
        fullIndex += 1
        return (nextFull, true)
    }

    @inlinable
    static func firstIndex(in tiles: ArraySlice<Int32>, from start: Int, notBelow tile: Int) -> Int {
        var low = start, high = tiles.endIndex
        while low < high {
            let middle = (low + high) / 2
            if Int(tiles[middle]) < tile { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
