/// A mask modifier: PyTorch FlexAttention's `mask_mod(b, h, q_idx, kv_idx)`.
///
/// `callAsFunction(b, h, qIdx, kvIdx)` says whether the query at position `qIdx` of batch entry
/// `b`, query head `h`, may attend to the key at position `kvIdx`. Positions are positions in the
/// sequence (the same numbers RoPE sees), not rows of the packed batch: a sequence decoding its
/// 100th token asks about `qIdx == 99`.
///
/// Conformers are value types. The kernel is generic over its mask, so the compiler specializes
/// the call into the inner loop: no closure, no existential, no dynamic dispatch per score.
///
/// ```swift
/// struct EveryOtherKey: MaskMod {
///     static var dependsOnHead: Bool { false }
///     func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
///         kvIdx <= qIdx && kvIdx % 2 == 0
///     }
/// }
/// ```
///
/// A mask is only evaluated on tiles that ``BlockMask`` lists as partial. To build that list
/// cheaply, a mask may describe whole rectangles at once in ``visibility(_:heads:queries:keys:)``;
/// the default evaluates every pair, which is always right but costs a call per pair.
public protocol MaskMod: Sendable {
    /// Whether query position `qIdx` may attend to key position `kvIdx` (sequence `b` of the
    /// batch, query head `h`).
    func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool

    /// How the pairs `heads × queries × keys` of sequence `b` relate to this mask: all visible,
    /// none, or some. An implementation may answer ``TileVisibility/partial`` when unsure (the
    /// kernel then evaluates every pair), but must never claim `.full` or `.empty` wrongly.
    func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility

    /// Whether the answer can depend on `h`. When it cannot, one ``BlockMask`` row serves all
    /// heads. Defaults to `true`, which is always safe.
    static var dependsOnHead: Bool { get }
}

extension MaskMod {
    public static var dependsOnHead: Bool { true }

    /// Evaluates every pair, stopping as soon as both a visible and a hidden pair were seen.
    @inlinable
    public func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility {
        var sawVisible = false
        var sawHidden = false
        for h in heads {
            for q in queries {
                for k in keys {
                    if self(b, h, q, k) { sawVisible = true } else { sawHidden = true }
                    if sawVisible && sawHidden { return .partial }
                }
            }
        }
        return sawVisible ? .full : .empty
    }
}
