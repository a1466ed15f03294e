/// Prefix-LM attention: the first `prefixLength` positions (the prompt) are visible to every
/// query, in both directions; after them, attention is causal.
public struct PrefixLMMask: MaskMod, Hashable {
    public let prefixLength: Int

    public init(prefixLength: Int) {
        precondition(prefixLength >= 0, "a prefix cannot be negative")
        self.prefixLength = prefixLength
    }

    public static var dependsOnHead: Bool { false }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        kvIdx < prefixLength || kvIdx <= qIdx
    }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        let lastKey = keys.upperBound - 1
        // Full: every key is in the prefix, or at or before the first query.
        if lastKey < prefixLength || lastKey <= queries.lowerBound { return .full }
        // Empty: no key is in the prefix and every key is after every query.
        if keys.lowerBound >= prefixLength && keys.lowerBound > queries.upperBound - 1 { return .empty }
        return .partial
    }
}
