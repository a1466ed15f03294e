#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Attention with Linear Biases (Press et al., 2022): `score + slope(h) × (kvIdx − qIdx)`, a
/// penalty growing with distance, with one slope per query head.
///
/// Slopes follow the paper's reference code: for `n` heads, `n` a power of two, head `i` gets
/// `2^(−8(i+1)/n)`; otherwise the slopes of the nearest smaller power of two `p`, then every
/// other slope of `2p` for the remaining heads.
public struct ALiBi: ScoreMod, Hashable {
    public let slopes: [Float]

    public init(headCount: Int) {
        precondition(headCount >= 1, "ALiBi needs at least one head")
        self.slopes = Self.slopes(headCount: headCount)
    }

    /// Explicit per-head slopes.
    public init(slopes: [Float]) { self.slopes = slopes }

    public static func slopes(headCount: Int) -> [Float] {
        func powerOfTwoSlopes(_ n: Int) -> [Float] {
            (0..<n).map { Float(pow(2.0, -8.0 * Double($0 + 1) / Double(n))) }
        }
        let p = 1 << (Int.bitWidth - 1 - headCount.leadingZeroBitCount)  // largest power of two <= n
        if p == headCount { return powerOfTwoSlopes(p) }
        let extra = powerOfTwoSlopes(2 * p).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        return powerOfTwoSlopes(p) + extra.prefix(headCount - p)
    }

    @inlinable
    public func callAsFunction(_ score: Float, _ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Float {
        score + slopes[h] * Float(kvIdx - qIdx)
    }

    /// Vectorized: the distances of eight consecutive keys are one integer plus the lane offsets,
    /// exact in `Float` below 2^24.
    @inlinable
    public func apply(_ scores: SIMD8<Float>, _ b: Int, _ h: Int, _ qIdx: Int, kvStart: Int) -> SIMD8<Float> {
        let distance = SIMD8<Float>(repeating: Float(kvStart - qIdx)) + SIMD8(0, 1, 2, 3, 4, 5, 6, 7)
        return scores + SIMD8(repeating: slopes[h]) * distance
    }
}
