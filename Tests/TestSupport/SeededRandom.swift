import Sampling

/// A small, fast, seeded random number generator (xoshiro256**, seeded through SplitMix64), so
/// tests draw the same "random" shapes and values on every run and machine.
///
/// ```swift
/// var random = SeededRandom(seed: 42)
/// let x = Float.random(in: -1...1, using: &random)
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable {
    // The same generator as the sampler's (one copy of xoshiro256** and of SplitMix64).
    private var generator: Xoshiro256

    public init(seed: UInt64) { generator = Xoshiro256(seed: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    /// One float drawn uniformly from `range`.
    public mutating func nextFloat(in range: ClosedRange<Float>) -> Float {
        Float.random(in: range, using: &self)
    }

    /// `count` floats drawn uniformly from `range`.
    public mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in nextFloat(in: range) }
    }
}
