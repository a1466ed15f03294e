/// Causal attention: a query sees its own position and every earlier one (`qIdx >= kvIdx`).
/// The mask the model uses, within each sequence.
public struct CausalMask: MaskMod, Hashable {
    public init() {}

    public static var dependsOnHead: Bool { false }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        qIdx >= kvIdx
    }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        if keys.upperBound - 1 <= queries.lowerBound { return .full }  // last key <= first query
        if keys.lowerBound > queries.upperBound - 1 { return .empty }  // first key > last query
        return .partial
    }
}
