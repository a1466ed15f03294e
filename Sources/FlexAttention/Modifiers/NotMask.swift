/// The pairs a mask hides. Build it with ``notMask(_:)``.
public struct NotMask<Base: MaskMod>: MaskMod {
    public let base: Base

    public init(_ base: Base) { self.base = base }

    public static var dependsOnHead: Bool { Base.dependsOnHead }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
        !base(b, h, qIdx, kvIdx)
    }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        base.visibility(b, heads: heads, queries: queries, keys: keys).inverted
    }
}

/// The pairs `base` hides: `andMasks(PrefixLMMask(prefixLength: n), notMask(CausalMask()))` is
/// the prompt's look-ahead alone.
@inlinable
public func notMask<Base: MaskMod>(_ base: Base) -> NotMask<Base> {
    NotMask(base)
}
