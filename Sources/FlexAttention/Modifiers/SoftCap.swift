#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tanh soft-capping (Gemma 2, Grok): `cap × tanh(score / cap)`, which keeps every score inside
/// `(−cap, cap)` while leaving small scores nearly unchanged.
public struct SoftCap: ScoreMod, Hashable {
    public let cap: Float

    public init(cap: Float) {
        precondition(cap > 0, "a soft cap must be positive")
        self.cap = cap
    }

    @inlinable
    public func callAsFunction(_ score: Float, _ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Float {
        cap * tanhf(score / cap)
    }
}
