/// Document masking for a sequence that packs several documents end to end: a query sees only
/// keys of its own document (`documentIDs[qIdx] == documentIDs[kvIdx]`). Combine it with
/// ``CausalMask`` for packed causal language modelling:
///
/// ```
///  positions     0 1 2 3 4 5 6
///  documentIDs   0 0 0 1 1 2 2      andMasks(CausalMask(), DocumentMask(documentIDs: ids))
///                                    lets position 4 see positions 3 and 4 only
/// ```
///
/// The ids are indexed by position, so they must cover every query and key position of the
/// sequences the mask is used with.
public struct DocumentMask: MaskMod, Hashable {
    public let documentIDs: [Int32]
    /// Whether the ids never decrease along the sequence (documents packed one after another);
    /// then a tile's visibility follows from its corner ids alone.
    public let isSorted: Bool

    public init(documentIDs: [Int32]) {
        self.documentIDs = documentIDs
        self.isSorted = zip(documentIDs, documentIDs.dropFirst()).allSatisfy { $0 <= $1 }
    }

    public static var dependsOnHead: Bool { false }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        documentIDs[qIdx] == documentIDs[kvIdx]
    }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        guard isSorted else { return elementwiseVisibility(queries: queries, keys: keys) }
        let firstQuery = documentIDs[queries.lowerBound], lastQuery = documentIDs[queries.upperBound - 1]
        let firstKey = documentIDs[keys.lowerBound], lastKey = documentIDs[keys.upperBound - 1]
        if lastQuery < firstKey || lastKey < firstQuery { return .empty }
        if firstQuery == lastQuery && firstKey == lastKey && firstQuery == firstKey { return .full }
        return .partial
    }

    /// Unsorted ids: compare every pair (the heads do not matter).
    @inlinable
    func elementwiseVisibility(queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        var visible = 0
        for q in queries {
            for k in keys where documentIDs[q] == documentIDs[k] { visible += 1 }
        }
        return visible == 0 ? .empty : visible == queries.count * keys.count ? .full : .partial
    }
}
