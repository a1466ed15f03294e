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

    /// `x *= factor` over `count` floats (a multiple of 8).
    @inlinable
    public static func scale(_ x: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
        var i = 0
        while i < count {
            (x + i).storeSIMD(UnsafePointer(x).loadSIMD8(i) * factor)
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
        let one = SIMD8<Float>(repeating: 1)
        gatedMultiply(gate: gate, up: up, count: count) { g in g / (one + VectorMath.exp(-g)) }
    }

    /// GeGLU's gate: `gate = gelu(gate) * up`, GELU in its tanh approximation
    /// `0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³)))`, computed as the equal
    /// `g / (1 + e^(−2·√(2/π)·(g + 0.044715·g³)))` (`0.5·(1 + tanh u) = 1 / (1 + e^−2u)`), so that
    /// one vector `exp` does it: a huge `g` gives `g` (the exponential underflows to 0), a huge
    /// negative one a tiny number (it is clamped to e^88), never NaN but from NaN.
    @inlinable
    public static func geluTanhMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let minusTwoC = SIMD8<Float>(repeating: -2 * 0.797_884_560_802_865_4)  // −2·√(2/π)
        let cubic = SIMD8<Float>(repeating: 0.044715), one = SIMD8<Float>(repeating: 1)
        gatedMultiply(gate: gate, up: up, count: count) { g in
            let u = VectorMath.multiplyAdd(cubic * g * g, g, g)  // g + 0.044715·g³
            return g / (one + VectorMath.exp(minusTwoC * u))
        }
    }

    /// `gate[i] = activation(gate[i]) * up[i]`, eight lanes at a time; a last partial vector is
    /// padded, so every element goes through the same vector arithmetic wherever it lies (the
    /// engine's results do not depend on how tokens are batched).
    @inlinable @inline(__always)
    static func gatedMultiply(
        gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int,
        _ activation: (SIMD8<Float>) -> SIMD8<Float>
    ) {
        var i = 0
        while i + 8 <= count {
            (gate + i).storeSIMD(activation(UnsafePointer(gate).loadSIMD8(i)) * up.loadSIMD8(i))
            i += 8
        }
        guard i < count else { return }
        var g = SIMD8<Float>(), u = SIMD8<Float>()
        for lane in 0..<count - i {
            g[lane] = gate[i + lane]
            u[lane] = up[i + lane]
        }
        let out = activation(g) * u
        for lane in 0..<count - i { gate[i + lane] = out[lane] }
    }

    /// The index of the largest of `count` floats, the first on ties; NaN is skipped (0 when none
    /// is larger than −inf). The largest value in vectors of 8 (a lane keeps its value where the
    /// new one is not larger, so NaN never enters), then the first block of 8 that holds it: a
    /// greedy token scans its whole logit row, Gemma 3's 262,144 values.
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        let whole = count / 8 * 8
        func load(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) }
        func larger(_ m: SIMD8<Float>, _ v: SIMD8<Float>) -> SIMD8<Float> { m.replacing(with: v, where: m .< v) }
        var m0 = SIMD8<Float>(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
        var i = 0
        while i + 32 <= whole {
            m0 = larger(m0, load(i))
            m1 = larger(m1, load(i + 8))
            m2 = larger(m2, load(i + 16))
            m3 = larger(m3, load(i + 24))
            i += 32
        }
        while i < whole {
            m0 = larger(m0, load(i))
            i += 8
        }
        var top = VectorMath.maximumLane(larger(larger(m0, m1), larger(m2, m3)))
        for j in whole..<count where x[j] > top { top = x[j] }
        guard top > -.infinity else { return 0 }
        let wanted = SIMD8<Float>(repeating: top)
        var r = 0
        while r < whole && !any(load(r) .== wanted) { r += 8 }
        while x[r] != top { r += 1 }
        return r
    }

    /// The `k` largest of `count` floats with their indices, unordered, ties to the lower index,
    /// NaN skipped (fewer when fewer are numbers), into `heap` (emptied first, its storage
    /// reused): a min-heap of `k` whose root is the weakest kept.
    public static func largest(_ x: UnsafePointer<Float>, count: Int, k: Int, into heap: inout [(value: Float, index: Int)]) {
        heap.removeAll(keepingCapacity: true)
        guard k > 0 else { return }
        func weaker(_ a: (value: Float, index: Int), _ b: (value: Float, index: Int)) -> Bool {
            a.value < b.value || (a.value == b.value && a.index > b.index)
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && weaker(heap[l], heap[m]) { m = l }
                if r < heap.count && weaker(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        var i = 0
        while i < count && heap.count < k {
            if !x[i].isNaN { heap.append((x[i], i)) }
            i += 1
        }
        for j in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(j) }
        while i < count {
            if x[i] > heap[0].value {
                heap[0] = (x[i], i)
                siftDown(0)
            }
            i += 1
        }
    }
}

/// Which pairs of a head's dimensions RoPE rotates together.
public enum RotaryStyle: Sendable, Hashable {
    /// llama.cpp's NORM: adjacent pairs `(x[2i], x[2i+1])` (GGUF llama files, whose converter
    /// permutes Wq and Wk for it).
    case adjacentPairs
    /// llama.cpp's NEOX (rotate halves): pairs `(x[i], x[i + d/2])` (gemma3).
    case halves
}

/// Rotary position embedding: pair `i` of each head (chosen by ``RotaryStyle``: adjacent
/// dimensions as llama.cpp's NORM, or the two halves as NEOX) is rotated by
/// `position · frequencies[i]`, and scaled by `magnitude` (1 except under YaRN). Without scaling
/// `frequencies[i] = base^(−2i/dim)`; the model's rope scaling (linear, YaRN, llama3 frequency
/// factors) only changes the table. Angles are computed in double precision: at position 8192 an
/// fp32 angle would be off by ~1e-3.
public struct RotaryEmbedding: Sendable {
    public let headSize: Int
    /// Dimensions rotated per head (`rope.dimension_count`; the rest pass through).
    public let rotaryDimensions: Int
    /// Radians per position of each rotated pair (`rotaryDimensions / 2` of them).
    public let frequencies: [Double]
    /// Factor on every cosine and sine (YaRN's attention scaling; 1 otherwise).
    public let magnitude: Double
    public let style: RotaryStyle

    /// Unscaled rotary embedding: `frequencies[i] = base^(−2i/rotaryDimensions)`.
    public init(headSize: Int, rotaryDimensions: Int, base: Double, style: RotaryStyle = .adjacentPairs) {
        self.init(
            headSize: headSize, rotaryDimensions: rotaryDimensions,
            frequencies: Self.baseFrequencies(rotaryDimensions: rotaryDimensions, base: base), magnitude: 1, style: style)
    }

    public init(
        headSize: Int, rotaryDimensions: Int, frequencies: [Double], magnitude: Double, style: RotaryStyle = .adjacentPairs
    ) {
        precondition(frequencies.count == rotaryDimensions / 2, "one frequency per rotated pair")
        self.headSize = headSize
        self.rotaryDimensions = rotaryDimensions
        self.frequencies = frequencies
        self.magnitude = magnitude
        self.style = style
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
        let half = rotaryDimensions / 2
        // The partner of dimension j: j + 1 (adjacent pairs) or j + half (halves).
        let (stride, partner) = style == .adjacentPairs ? (2, 1) : (1, half)
        for h in 0..<headCount {
            let head = x + h * headSize
            for i in 0..<half {
                let j = i * stride
                let a = head[j], b = head[j + partner]
                head[j] = a * cos[i] - b * sin[i]
                head[j + partner] = a * sin[i] + b * cos[i]
            }
        }
    }
}
