import Kernels

extension AttentionPass {
    /// Eight dot products of one query with eight key rows, reduced together.
    @inlinable @inline(__always)
    static func dot8<Element: KVElement>(
        _: Element.Type, _ query: UnsafeRawPointer, _ keys: UnsafePointer<UnsafeRawPointer>, headSize: Int
    ) -> SIMD8<Float> {
        let k0 = keys[0], k1 = keys[1], k2 = keys[2], k3 = keys[3]
        let k4 = keys[4], k5 = keys[5], k6 = keys[6], k7 = keys[7]
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var d = 0
        while d < headSize {
            let q = Float.load8(query, at: d)
            a0 = VectorMath.multiplyAdd(q, Element.load8(k0, at: d), a0)
            a1 = VectorMath.multiplyAdd(q, Element.load8(k1, at: d), a1)
            a2 = VectorMath.multiplyAdd(q, Element.load8(k2, at: d), a2)
            a3 = VectorMath.multiplyAdd(q, Element.load8(k3, at: d), a3)
            a4 = VectorMath.multiplyAdd(q, Element.load8(k4, at: d), a4)
            a5 = VectorMath.multiplyAdd(q, Element.load8(k5, at: d), a5)
            a6 = VectorMath.multiplyAdd(q, Element.load8(k6, at: d), a6)
            a7 = VectorMath.multiplyAdd(q, Element.load8(k7, at: d), a7)
            d &+= 8
        }
        return VectorMath.transposedSums(a0, a1, a2, a3, a4, a5, a6, a7)
    }

    /// `accumulator = accumulator × correction + Σ_j weights[j] · values[j]`, in `j` order.
    /// 64 dimensions at a time stay in eight registers: eight independent chains of fused
    /// multiply-adds keep both FMA units busy (four would wait on the FMA latency).
    @inlinable @inline(__always)
    static func accumulateValues<Element: KVElement>(
        _: Element.Type, _ accumulator: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, correction: Float,
        values: UnsafePointer<UnsafeRawPointer>, count: Int, headSize: Int
    ) {
        let target = UnsafeMutableRawPointer(accumulator)
        let c = SIMD8<Float>(repeating: correction)
        var d = 0
        while d + 64 <= headSize {
            var a0 = Float.load8(target, at: d), a1 = Float.load8(target, at: d + 8)
            var a2 = Float.load8(target, at: d + 16), a3 = Float.load8(target, at: d + 24)
            var a4 = Float.load8(target, at: d + 32), a5 = Float.load8(target, at: d + 40)
            var a6 = Float.load8(target, at: d + 48), a7 = Float.load8(target, at: d + 56)
            if correction != 1 {
                a0 *= c; a1 *= c; a2 *= c; a3 *= c; a4 *= c; a5 *= c; a6 *= c; a7 *= c
            }
            for j in 0..<count {
                let w = SIMD8<Float>(repeating: weights[j]), v = values[j]
                a0 = VectorMath.multiplyAdd(w, Element.load8(v, at: d), a0)
                a1 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 8), a1)
                a2 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 16), a2)
                a3 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 24), a3)
                a4 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 32), a4)
                a5 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 40), a5)
                a6 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 48), a6)
                a7 = VectorMath.multiplyAdd(w, Element.load8(v, at: d + 56), a7)
            }
            Float.store8(a0, to: target, at: d)
            Float.store8(a1, to: target, at: d + 8)
            Float.store8(a2, to: target, at: d + 16)
            Float.store8(a3, to: target, at: d + 24)
            Float.store8(a4, to: target, at: d + 32)
            Float.store8(a5, to: target, at: d + 40)
            Float.store8(a6, to: target, at: d + 48)
            Float.store8(a7, to: target, at: d + 56)
            d += 64
        }
        while d < headSize {  // head sizes that are not a multiple of 64: 8 at a time
            var a = Float.load8(target, at: d)
            if correction != 1 { a *= c }
            for j in 0..<count {
                a = VectorMath.multiplyAdd(SIMD8(repeating: weights[j]), Element.load8(values[j], at: d), a)
            }
            Float.store8(a, to: target, at: d)
            d += 8
        }
    }
}
