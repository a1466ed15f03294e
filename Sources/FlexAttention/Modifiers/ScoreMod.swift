/// A score modifier: PyTorch FlexAttention's `score_mod(score, b, h, q_idx, kv_idx)`.
///
/// It rewrites a score after scaling (`score = q·k × scale`) and before the softmax: a
/// positional bias (``ALiBi``), soft-capping (``SoftCap``), or anything else that depends on the
/// score and its coordinates. Positions are sequence positions, as for ``MaskMod``. Hiding a pair
/// is a mask's job: a score mod should not return `-inf` for a whole row (the row would then have
/// no finite score; the kernel still gives zeros for it, but the block mask cannot skip its work).
///
/// The kernel calls ``apply(_:_:_:_:kvStart:)`` on eight consecutive keys at a time. Its default
/// calls the scalar form lane by lane; a modifier that can work on a whole vector (a bias that
/// is linear in the key position) overrides it. Either way the call is specialized, not dynamic.
public protocol ScoreMod: Sendable {
    /// The modified score of query position `qIdx`, key position `kvIdx` (sequence `b`, head `h`).
    func callAsFunction(_ score: Float, _ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Float

    /// The modified scores of keys `kvStart ..< kvStart + 8` for one query: lane `i` must equal
    /// `self(scores[i], b, h, qIdx, kvStart + i)`.
    func apply(_ scores: SIMD8<Float>, _ b: Int, _ h: Int, _ qIdx: Int, kvStart: Int) -> SIMD8<Float>
}

extension ScoreMod {
    @inlinable
    public func apply(_ scores: SIMD8<Float>, _ b: Int, _ h: Int, _ qIdx: Int, kvStart: Int) -> SIMD8<Float> {
        var result = scores
        for lane in 0..<8 { result[lane] = self(scores[lane], b, h, qIdx, kvStart + lane) }
        return result
    }
}
