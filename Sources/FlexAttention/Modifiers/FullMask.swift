/// No masking: every query sees every key of its sequence (PyTorch's `noop_mask`), as in an
/// encoder or in cross-attention.
public struct FullMask: MaskMod, Hashable {
    public init() {}

    public static var dependsOnHead: Bool { false }

    @inlinable
    public func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool { true }

    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        .full
    }
}
