/// Causal attention over the last `windowLength` positions: a query at `q` sees keys
/// `q - windowLength + 1 ... q` (Mistral-style local attention; `windowLength` includes the
/// query's own position).
public struct SlidingWindowMask: MaskMod, Hashable {
    public let windowLength: Int

    public init(windowLength: Int) {
        precondition(windowLength >= 1, "a sliding window holds at least the query's own position")
        self.windowLength = windowLength
    }

    public static var dependsOnHead: Bool { false }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        kvIdx <= qIdx && qIdx - kvIdx < windowLength
    }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        let firstQuery = queries.lowerBound, lastQuery = queries.upperBound - 1
        let firstKey = keys.lowerBound, lastKey = keys.upperBound - 1
        // Empty: every key is after every query, or every key is out of every query's window.
        if firstKey > lastQuery || firstQuery - lastKey >= windowLength { return .empty }
        // Full: every key is at or before the first query and inside the last query's window.
        if lastKey <= firstQuery && lastQuery - firstKey < windowLength { return .full }
        return .partial
    }
}
