import Foundation

/// The small per-token operations of a transformer layer, on fp32 rows.
public enum Elementwise {
    /// `out = x / sqrt(mean(x²) + epsilon) * weight` for one row of `count` floats
    /// (`count` a multiple of 8). `out` may alias `x`.
    @inlinable
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float, count: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        var acc = SIMD8<Float>()
        var i = 0
        while i < count {
            let v = x.loadSIMD8(i)
            acc.addProduct(v, v)
            i += 8
        }
        let meanSquare = Matmul.horizontalSum(acc) / Float(count)
        let scale = SIMD8<Float>(repeating: 1 / (meanSquare + epsilon).squareRoot())
        i = 0
        while i < count {
            (out + i).storeSIMD(x.loadSIMD8(i) * scale * weight.loadSIMD8(i))
            i += 8
        }
    }

    /// `x += y` over `count` floats (a multiple of 8).
    @inlinable
    public static func add(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            (x + i).storeSIMD(UnsafePointer(x).loadSIMD8(i) + y.loadSIMD8(i))
            i += 8
        }
    }

    /// SwiGLU's gate: `gate = silu(gate) * up`, with `silu(g) = g / (1 + e^-g)`.
    @inlinable
    public static func siluMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + Foundation.exp(-g)) * up[i]
        }
    }

    /// The index of the largest of `count` floats (the first on ties).
    @inlinable
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        var bestValue = x[0]
        for i in 1..<count where x[i] > bestValue {
            best = i
            bestValue = x[i]
        }
        return best
    }
}

/// Rotary position embedding in llama.cpp's NORM convention (the one GGUF llama files use): the
/// adjacent pairs `(x[2i], x[2i+1])` of each head are rotated by `position · frequencies[i]`, and
/// scaled by `magnitude` (1 except under YaRN). Without scaling `frequencies[i] = base^(−2i/dim)`;
/// the model's rope scaling (linear, YaRN, llama3 frequency factors) only changes the table.
/// Angles are computed in double precision: at position 8192 an fp32 angle would be off by ~1e-3.
public struct RotaryEmbedding: Sendable {
    public let headSize: Int
    /// Dimensions rotated per head (`rope.dimension_count`; the rest pass through).
    public let rotaryDimensions: Int
    /// Radians per position of each rotated pair (`rotaryDimensions / 2` of them).
    public let frequencies: [Double]
    /// Factor on every cosine and sine (YaRN's attention scaling; 1 otherwise).
    public let magnitude: Double

    /// Unscaled rotary embedding: `frequencies[i] = base^(−2i/rotaryDimensions)`.
    public init(headSize: Int, rotaryDimensions: Int, base: Double) {
        self.init(
            headSize: headSize, rotaryDimensions: rotaryDimensions,
            frequencies: Self.baseFrequencies(rotaryDimensions: rotaryDimensions, base: base), magnitude: 1)
    }

    public init(headSize: Int, rotaryDimensions: Int, frequencies: [Double], magnitude: Double) {
        precondition(frequencies.count == rotaryDimensions / 2, "one frequency per rotated pair")
        self.headSize = headSize
        self.rotaryDimensions = rotaryDimensions
        self.frequencies = frequencies
        self.magnitude = magnitude
    }

    /// `base^(−2i/rotaryDimensions)` for each pair `i`.
    public static func baseFrequencies(rotaryDimensions: Int, base: Double) -> [Double] {
        (0..<rotaryDimensions / 2).map { Foundation.pow(base, -Double(2 * $0) / Double(rotaryDimensions)) }
    }

    /// Writes the `rotaryDimensions / 2` cosines and sines for `position`.
    public func angles(position: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        for i in 0..<rotaryDimensions / 2 {
            let theta = Double(position) * frequencies[i]
            cos[i] = Float(Foundation.cos(theta) * magnitude)
            sin[i] = Float(Foundation.sin(theta) * magnitude)
        }
    }

    /// Rotates `headCount` heads of one token in place with precomputed angles.
    @inlinable
    public func apply(
        _ x: UnsafeMutablePointer<Float>, headCount: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        for h in 0..<headCount {
            let head = x + h * headSize
            for i in 0..<rotaryDimensions / 2 {
                let a = head[2 * i], b = head[2 * i + 1]
                head[2 * i] = a * cos[i] - b * sin[i]
                head[2 * i + 1] = a * sin[i] + b * cos[i]
            }
        }
    }
}
