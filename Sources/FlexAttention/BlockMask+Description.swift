extension BlockMask: CustomStringConvertible {
    /// One line: the mask, the batch, the tile counts and the sparsity, e.g.
    /// `BlockMask<CausalMask>(2 sequences, 1 head group, tiles 16×32: 12 partial, 90 full, 78 skipped; sparsity 43.3%)`.
    public var description: String {
        let skipped = totalTileCount - partialTileCount - fullTileCount
        let percent = (sparsity * 1000).rounded() / 10
        return "BlockMask<\(Mask.self)>(\(queryCounts.count) sequence\(queryCounts.count == 1 ? "" : "s"), "
            + "\(headGroupCount) head group\(headGroupCount == 1 ? "" : "s"), "
            + "tiles \(AttentionTiling.queryTileLength)×\(AttentionTiling.kvTileLength): "
            + "\(partialTileCount) partial, \(fullTileCount) full, \(skipped) skipped; sparsity \(percent)%)"
    }

    /// A picture of one sequence's tiles, a row per query tile and a column per KV tile:
    /// `#` fully visible, `+` partly visible, `.` skipped.
    ///
    /// ```
    ///  causal, 64 queries over 64 keys:   +.
    ///                                     +.
    ///                                     #+
    ///                                     #+
    /// ```
    public func visualization(sequence b: Int, headGroup: Int = 0) -> String {
        let kvTiles = AttentionTiling.tileCount(kvLengths[b], length: AttentionTiling.kvTileLength)
        var lines: [String] = []
        for queryTile in 0..<queryTileCount(sequence: b) {
            var row = [Character](repeating: ".", count: kvTiles)
            for tile in kvIndices(sequence: b, headGroup: headGroup, queryTile: queryTile) { row[Int(tile)] = "+" }
            for tile in fullKvIndices(sequence: b, headGroup: headGroup, queryTile: queryTile) { row[Int(tile)] = "#" }
            lines.append(String(row))
        }
        return lines.joined(separator: "\n")
    }
}
