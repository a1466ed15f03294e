/// The pairs either mask lets through: PyTorch's `or_masks`. Build it with ``orMasks(_:_:)``.
public struct OrMask<First: MaskMod, Second: MaskMod>: MaskMod {
    public let first: First
    public let second: Second

    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    public static var dependsOnHead: Bool { First.dependsOnHead || Second.dependsOnHead }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        first(b, h, qIdx, kvIdx) || second(b, h, qIdx, kvIdx)
    }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        let a = first.visibility(b, heads: heads, queries: queries, keys: keys)
        if a == .full { return .full }
        return a.or(second.visibility(b, heads: heads, queries: queries, keys: keys))
    }
}

/// The pairs `first` or `second` lets through (PyTorch's `or_masks`).
@inlinable
public func orMasks<First: MaskMod, Second: MaskMod>(_ first: First, _ second: Second) -> OrMask<First, Second> {
    OrMask(first, second)
}
