import Kernels

extension AttentionPass {
    /// Eight dot products of one query with eight key rows, reduced together. The order of the
    /// sum is the definition every score follows: lane `l` of a row's accumulator adds
    /// `q[d]·k[d]` for `d ≡ l (mod 8)` in increasing `d` (fused multiply-adds), then the lanes
    /// are added in the tree of `VectorMath.sumLanes`.
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

    /// Four dot products of each of two queries with four key rows: lanes 0–3 are `first`'s,
    /// lanes 4–7 `second`'s. Every sum in the order of ``dot8(_:_:_:headSize:)``; one key load
    /// serves two queries.
    @inlinable @inline(__always)
    static func dot2x4<Element: KVElement>(
        _: Element.Type, _ first: UnsafeRawPointer, _ second: UnsafeRawPointer, _ keys: UnsafePointer<UnsafeRawPointer>,
        headSize: Int
    ) -> SIMD8<Float> {
        let k0 = keys[0], k1 = keys[1], k2 = keys[2], k3 = keys[3]
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var d = 0
        while d < headSize {
            let qa = Float.load8(first, at: d), qb = Float.load8(second, at: d)
            let r0 = Element.load8(k0, at: d), r1 = Element.load8(k1, at: d)
            let r2 = Element.load8(k2, at: d), r3 = Element.load8(k3, at: d)
            a0 = VectorMath.multiplyAdd(qa, r0, a0)
            b0 = VectorMath.multiplyAdd(qb, r0, b0)
            a1 = VectorMath.multiplyAdd(qa, r1, a1)
            b1 = VectorMath.multiplyAdd(qb, r1, b1)
            a2 = VectorMath.multiplyAdd(qa, r2, a2)
            b2 = VectorMath.multiplyAdd(qb, r2, b2)
            a3 = VectorMath.multiplyAdd(qa, r3, a3)
            b3 = VectorMath.multiplyAdd(qb, r3, b3)
            d &+= 8
        }
        return VectorMath.transposedSums(a0, a1, a2, a3, b0, b1, b2, b3)
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

extension AttentionPass {
    /// ``accumulateValues(_:_:weights:correction:values:count:headSize:)`` for two states at
    /// once, 32 dimensions of each in registers: each value load serves both, and each state
    /// sees exactly the operations it would alone.
    @inlinable @inline(__always)
    static func accumulateValuePair<Element: KVElement>(
        _: Element.Type, _ first: UnsafeMutablePointer<Float>, _ second: UnsafeMutablePointer<Float>,
        weights firstWeights: UnsafePointer<Float>, _ secondWeights: UnsafePointer<Float>,
        corrections firstCorrection: Float, _ secondCorrection: Float,
        values: UnsafePointer<UnsafeRawPointer>, count: Int, headSize: Int
    ) {
        let x = UnsafeMutableRawPointer(first), y = UnsafeMutableRawPointer(second)
        let cx = SIMD8<Float>(repeating: firstCorrection), cy = SIMD8<Float>(repeating: secondCorrection)
        var d = 0
        while d + 32 <= headSize {
            var x0 = Float.load8(x, at: d), x1 = Float.load8(x, at: d + 8)
            var x2 = Float.load8(x, at: d + 16), x3 = Float.load8(x, at: d + 24)
            var y0 = Float.load8(y, at: d), y1 = Float.load8(y, at: d + 8)
            var y2 = Float.load8(y, at: d + 16), y3 = Float.load8(y, at: d + 24)
            if firstCorrection != 1 { x0 *= cx; x1 *= cx; x2 *= cx; x3 *= cx }
            if secondCorrection != 1 { y0 *= cy; y1 *= cy; y2 *= cy; y3 *= cy }
            for j in 0..<count {
                let wx = SIMD8<Float>(repeating: firstWeights[j]), wy = SIMD8<Float>(repeating: secondWeights[j])
                let v = values[j]
                let v0 = Element.load8(v, at: d), v1 = Element.load8(v, at: d + 8)
                let v2 = Element.load8(v, at: d + 16), v3 = Element.load8(v, at: d + 24)
                x0 = VectorMath.multiplyAdd(wx, v0, x0)
                y0 = VectorMath.multiplyAdd(wy, v0, y0)
                x1 = VectorMath.multiplyAdd(wx, v1, x1)
                y1 = VectorMath.multiplyAdd(wy, v1, y1)
                x2 = VectorMath.multiplyAdd(wx, v2, x2)
                y2 = VectorMath.multiplyAdd(wy, v2, y2)
                x3 = VectorMath.multiplyAdd(wx, v3, x3)
                y3 = VectorMath.multiplyAdd(wy, v3, y3)
            }
            Float.store8(x0, to: x, at: d)
            Float.store8(x1, to: x, at: d + 8)
            Float.store8(x2, to: x, at: d + 16)
            Float.store8(x3, to: x, at: d + 24)
            Float.store8(y0, to: y, at: d)
            Float.store8(y1, to: y, at: d + 8)
            Float.store8(y2, to: y, at: d + 16)
            Float.store8(y3, to: y, at: d + 24)
            d += 32
        }
        while d < headSize {  // head sizes that are not a multiple of 32: 8 at a time
            var a = Float.load8(x, at: d), b = Float.load8(y, at: d)
            if firstCorrection != 1 { a *= cx }
            if secondCorrection != 1 { b *= cy }
            for j in 0..<count {
                let v = Element.load8(values[j], at: d)
                a = VectorMath.multiplyAdd(SIMD8(repeating: firstWeights[j]), v, a)
                b = VectorMath.multiplyAdd(SIMD8(repeating: secondWeights[j]), v, b)
            }
            Float.store8(a, to: x, at: d)
            Float.store8(b, to: y, at: d)
            d += 8
        }
    }
}
