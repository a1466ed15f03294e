/// Eight-lane float math whose results do not depend on the build: every reduction runs in a fixed
/// tree order, and the exponential is a polynomial of our own rather than `libm`'s, so a value
/// computed here is bitwise the same whichever caller, thread or batch computes it.
///
/// Written with the stdlib `SIMD8<Float>` and bit tricks only: with `-Xcc -march=x86-64-v3` each
/// function below compiles to a handful of AVX2 instructions (`pointwiseMax` and `sum()` from the
/// stdlib do not: the first handles NaN lane by lane, the second adds lanes one after another).
public enum VectorMath {
    /// `a * b + c` per lane, fused (one rounding). With `-march=x86-64-v3` this is one `vfmadd`;
    /// without the flag it is correct but slow (a `fmaf` call per lane), which is why release
    /// builds pass the flag.
    @inlinable @inline(__always)
    public static func multiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
        c.addingProduct(a, b)
    }

    /// The larger of two lanes; for inputs without NaN (scores, where masked ones are `-inf`).
    @inlinable @inline(__always)
    public static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: a .< b)
    }

    /// The largest lane (inputs without NaN). Exact, so its order does not matter.
    @inlinable @inline(__always)
    public static func maximumLane(_ x: SIMD8<Float>) -> Float {
        let four = x.lowHalf.replacing(with: x.highHalf, where: x.lowHalf .< x.highHalf)
        let two = four.lowHalf.replacing(with: four.highHalf, where: four.lowHalf .< four.highHalf)
        return Swift.max(two[0], two[1])
    }

    /// The sum of the lanes, as `((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))`: a fixed tree.
    @inlinable @inline(__always)
    public static func sumLanes(_ x: SIMD8<Float>) -> Float {
        let four = x.lowHalf + x.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// The lane sums of eight vectors at once: lane `i` of the result is the sum of the lanes of
    /// the `i`th argument, in the same tree order as ``sumLanes(_:)``. Eight dot products reduced
    /// together cost 7 adds and a few shuffles instead of 8 horizontal sums.
    @inlinable @inline(__always)
    public static func transposedSums(
        _ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>,
        _ e: SIMD8<Float>, _ f: SIMD8<Float>, _ g: SIMD8<Float>, _ h: SIMD8<Float>
    ) -> SIMD8<Float> {
        // Level 1: fold the halves of each vector (lane k + lane k+4), two vectors per result.
        let ab = SIMD8(lowHalf: a.lowHalf + a.highHalf, highHalf: b.lowHalf + b.highHalf)
        let cd = SIMD8(lowHalf: c.lowHalf + c.highHalf, highHalf: d.lowHalf + d.highHalf)
        let ef = SIMD8(lowHalf: e.lowHalf + e.highHalf, highHalf: f.lowHalf + f.highHalf)
        let gh = SIMD8(lowHalf: g.lowHalf + g.highHalf, highHalf: h.lowHalf + h.highHalf)
        // Level 2: fold (k, k+2) inside each half. Level 3: fold the remaining pair.
        let abcd = SIMD8(lowHalf: ab.lowHalf.sumPairs(ab.highHalf), highHalf: cd.lowHalf.sumPairs(cd.highHalf))
        let efgh = SIMD8(lowHalf: ef.lowHalf.sumPairs(ef.highHalf), highHalf: gh.lowHalf.sumPairs(gh.highHalf))
        return SIMD8(lowHalf: abcd.evenHalf + abcd.oddHalf, highHalf: efgh.evenHalf + efgh.oddHalf)
    }

    /// `e^x` per lane, within 2 ulp for `x <= 88` (larger `x` is clamped to 88); `0` for `x` below about -87.3
    /// (so `exp(-inf) == 0` exactly, as a masked score needs) and `exp(0) == 1` exactly.
    ///
    /// Cephes `expf`: `x = n ln2 + r` with `|r| <= ln2/2`, a degree-7 polynomial for `e^r`, and
    /// `2^n` built from its exponent bits. `n` is rounded with the 1.5·2^23 trick because the
    /// stdlib's SIMD float-to-int conversions are not inlined.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let upper: Float = 88  // keeps n <= 127, so 2^n stays a normal float
        let lower: Float = -87.3365447505531
        // Vector operands throughout: with a scalar operand (`x .< lower`, `replacing(with: 0, ...)`)
        // the stdlib's generic lane loop is used, and in a function this size it stays a loop.
        let lowerVector = SIMD8<Float>(repeating: lower), upperVector = SIMD8<Float>(repeating: upper)
        let belowRange: SIMDMask<SIMD8<Int32>> = x .< lowerVector
        var v = x.replacing(with: upperVector, where: upperVector .< x)
        v.replace(with: lowerVector, where: belowRange)
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 * 2^23
        let shifted = multiplyAdd(v, SIMD8(repeating: 1.44269504088896341), magic)
        let n = shifted - magic  // round(x / ln 2), as a float
        // r = x - n ln2, with ln2 split in two so that n * ln2Hi is exact.
        var r = multiplyAdd(n, SIMD8(repeating: -0.693359375), v)
        r = multiplyAdd(n, SIMD8(repeating: 2.12194440e-4), r)
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = multiplyAdd(p, r, SIMD8(repeating: 1.3981999507e-3))
        p = multiplyAdd(p, r, SIMD8(repeating: 8.3334519073e-3))
        p = multiplyAdd(p, r, SIMD8(repeating: 4.1665795894e-2))
        p = multiplyAdd(p, r, SIMD8(repeating: 1.6666665459e-1))
        p = multiplyAdd(p, r, SIMD8(repeating: 5.0000001201e-1))
        let er = multiplyAdd(p, r * r, r) + 1
        // 2^n: the integer n sits in the low mantissa bits of `shifted`.
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let twoToN = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (er * twoToN).replacing(with: SIMD8<Float>(), where: belowRange)
    }
}

extension SIMD4 where Scalar == Float {
    /// `[a0+a2, a1+a3, b0+b2, b1+b3]`: one level of a lane-sum tree over two vectors.
    @inlinable @inline(__always)
    func sumPairs(_ b: SIMD4<Float>) -> SIMD4<Float> {
        SIMD4(lowHalf: lowHalf + highHalf, highHalf: b.lowHalf + b.highHalf)
    }
}
