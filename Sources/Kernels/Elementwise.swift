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
/// adjacent pairs `(x[2i], x[2i+1])` of each head are rotated by `position · base^(−2i/dim)`.
/// Angles are computed in double precision: at position 8192 an fp32 angle would be off by ~1e-3.
public struct RotaryEmbedding: Sendable {
    public let headSize: Int
    /// Dimensions rotated per head (`rope.dimension_count`; the rest pass through).
    public let rotaryDimensions: Int
    public let base: Double

    public init(headSize: Int, rotaryDimensions: Int, base: Double) {
        self.headSize = headSize
        self.rotaryDimensions = rotaryDimensions
        self.base = base
    }

    /// Writes the `rotaryDimensions / 2` cosines and sines for `position`.
    public func angles(position: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        for i in 0..<rotaryDimensions / 2 {
            let theta = Double(position) * Foundation.pow(base, -Double(2 * i) / Double(rotaryDimensions))
            cos[i] = Float(Foundation.cos(theta))
            sin[i] = Float(Foundation.sin(theta))
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
