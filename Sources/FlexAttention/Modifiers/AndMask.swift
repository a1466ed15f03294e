/// The pairs both masks let through: PyTorch's `and_masks`. Build it with ``andMasks(_:_:)``.
public struct AndMask<First: MaskMod, Second: MaskMod>: MaskMod {
    public let first: First
    public let second: Second

    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    public static var dependsOnHead: Bool { First.dependsOnHead || Second.dependsOnHead }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        first(b, h, qIdx, kvIdx) && second(b, h, qIdx, kvIdx)
    }

    /// Conservative: two partial tiles give a partial tile even when their visible pairs happen
    /// not to overlap (the kernel then evaluates the mask and finds nothing; still correct).
    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        let a = first.visibility(b, heads: heads, queries: queries, keys: keys)
        if a == .empty { return .empty }
        return a.and(second.visibility(b, heads: heads, queries: queries, keys: keys))
    }
}

/// The pairs both `first` and `second` let through (PyTorch's `and_masks`). Nest calls for more:
/// `andMasks(CausalMask(), andMasks(a, b))`.
@inlinable
public func andMasks<First: MaskMod, Second: MaskMod>(_ first: First, _ second: Second) -> AndMask<First, Second> {
    AndMask(first, second)
}
