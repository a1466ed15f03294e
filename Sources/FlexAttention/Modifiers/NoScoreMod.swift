/// Scores unchanged: plain scaled dot-product attention. Specialized away entirely.
public struct NoScoreMod: ScoreMod, Hashable {
    public init() {}

    @inlinable
    public func callAsFunction(_ score: Float, _ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Float { score }

    @inlinable
    public func apply(_ scores: SIMD8<Float>, _ b: Int, _ h: Int, _ qIdx: Int, kvStart: Int) -> SIMD8<Float> { scores }
}
