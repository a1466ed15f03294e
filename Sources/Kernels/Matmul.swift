/// `Y = X Wᵀ` for weights in any ``WeightType``, reading the encoded weights directly.
///
/// Every output `y[t][r]` is computed by the same sequence of floating-point operations whether
/// the call multiplies one token (decode) or hundreds (prefill), and whichever thread runs it:
/// per 32-element block, `p = q₀·x₀ + q₁·x₁ + q₂·x₂ + q₃·x₃` (SIMD8 lanes, fused multiply-adds in
/// that order), `acc = scale·p + acc`, `off += offset·Σx`; finally `y = sum(acc) + off`. The
/// prefill kernel only shares the decoded weights of a block between four tokens. So a
/// sequence's logits do not depend on what else is in its batch (batch invariance).
import CKernels
import Foundation

public enum Matmul {
    /// Whether the AVX2/FMA/F16C kernels of CKernels run (``KernelPath/active`` is `avx2` or one
    /// of the VNNI paths above it); otherwise the portable Swift kernels below, which compute the
    /// same operations in the same order.
    public static var usesAVX2: Bool { KernelPath.active.usesCKernels }

    /// The shares a parallel product of `tokenCount` tokens is cut into. Up to
    /// ``fixedShareTokens`` tokens (decode, batched decode) one share per thread: each thread
    /// streams one contiguous stretch of the weights, which the hardware prefetchers follow from
    /// start to end, where eight shares a thread, taken in turn, restart the stream at every
    /// share (SmolLM2 decode after 128, 2 threads, Zen 5: q8 +7-35 %, fp32 +12-18 %). Longer
    /// products (prefill), which compute more than they stream, take eight shares a thread so
    /// that a thread slowed by the machine hands rows to the other (one share a thread cost
    /// their 512-token prefill 9-28 %).
    @inlinable
    static func chunkCount(tokenCount: Int, pool: ThreadPool) -> Int {
        tokenCount <= fixedShareTokens ? pool.threadCount : pool.threadCount * 8
    }

    /// The most tokens a product cuts into one share per thread.
    public static let fixedShareTokens = 16

    /// Tokens per block of X kept hot in cache while all rows pass over it.
    @usableFromInline static let tokenBlock = 64

    /// `y[t * yStride + r] = Σ_k W[r][k] · x[t * columnCount + k]` for `t < tokenCount`, `r < rowCount`.
    public static func multiply(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokenCount: Int,
        y: UnsafeMutablePointer<Float>, yStride: Int? = nil, pool: ThreadPool = .shared
    ) {
        multiply(w, x: x, tokenCount: tokenCount, y: y, yStride: yStride, pool: pool, avx2: usesAVX2)
    }

    /// ``multiply(_:x:tokenCount:y:yStride:pool:)`` on a chosen path (tests run both): the C
    /// kernels when `avx2` (the CPU must have AVX2/FMA/F16C), else the portable Swift ones.
    static func multiply(
        _ w: WeightMatrix, x: UnsafePointer<Float>, tokenCount: Int,
        y: UnsafeMutablePointer<Float>, yStride: Int?, pool: ThreadPool, avx2: Bool
    ) {
        let ys = yStride ?? w.rowCount
        if avx2 {
            runAVX2(w, x, tokenCount, y, ys, pool)
            return
        }
        switch w.type {
        case .f32: run(F32Format.self, w, x, tokenCount, y, ys, pool)
        case .f16: run(F16Format.self, w, x, tokenCount, y, ys, pool)
        case .bf16: run(BF16Format.self, w, x, tokenCount, y, ys, pool)
        case .q8_0: run(Q8_0Format.self, w, x, tokenCount, y, ys, pool)
        case .q4_0: run(Q4_0Format.self, w, x, tokenCount, y, ys, pool)
        case .q4_1: run(Q4_1Format.self, w, x, tokenCount, y, ys, pool)
        case .q5_0: run(Q5_0Format.self, w, x, tokenCount, y, ys, pool)
        case .q5_1: run(Q5_1Format.self, w, x, tokenCount, y, ys, pool)
        case .q4_K: run(Q4_KFormat.self, w, x, tokenCount, y, ys, pool)
        case .q5_K: run(Q5_KFormat.self, w, x, tokenCount, y, ys, pool)
        case .q6_K: run(Q6_KFormat.self, w, x, tokenCount, y, ys, pool)
        }
    }

    /// Whether blocks of `type` carry an offset (the kernels then read the block sums of x).
    static func hasOffset(_ type: WeightType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K: true
        case .f32, .f16, .bf16, .q8_0, .q6_K: false
        }
    }

    static func runAVX2(
        _ w: WeightMatrix, _ x: UnsafePointer<Float>, _ tokenCount: Int,
        _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ pool: ThreadPool
    ) {
        let blocks = w.blocksPerRow
        let hasOffset = hasOffset(w.type)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: hasOffset ? tokenCount * blocks : 1) { sums in
            let sums = sums.baseAddress!
            if hasOffset { blockSums(x, tokenCount: tokenCount, blocks: blocks, into: sums) }
            pool.parallelRanges(w.rowCount, granularity: 4, chunks: chunkCount(tokenCount: tokenCount, pool: pool)) { rows in
                _ = pf_matmul_rows(
                    w.type.kernelCode, w.base, w.bytesPerRow, Int32(blocks), Int32(rows.lowerBound),
                    Int32(rows.upperBound), x, Int32(tokenCount), sums, y, yStride)
            }
        }
    }

    /// Σx of every 32-element block of every token row.
    @inlinable
    static func blockSums(_ x: UnsafePointer<Float>, tokenCount: Int, blocks: Int, into sums: UnsafeMutablePointer<Float>) {
        for t in 0..<tokenCount {
            for b in 0..<blocks { sums[t &* blocks &+ b] = blockSum(x + (t &* blocks &+ b) &* 32) }
        }
    }

    @inlinable
    static func run<F: WeightFormat>(
        _: F.Type, _ w: WeightMatrix, _ x: UnsafePointer<Float>, _ tokenCount: Int,
        _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ pool: ThreadPool
    ) {
        let blocks = w.blocksPerRow
        let k = w.columnCount
        // Σx per block of every token row, for formats with an offset (small: tokens × blocks).
        let sumCount = F.hasOffset ? tokenCount * blocks : 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(sumCount, 1)) { sums in
            let sums = sums.baseAddress!
            if F.hasOffset { blockSums(x, tokenCount: tokenCount, blocks: blocks, into: sums) }
            let rowTile = 4
            pool.parallelRanges(w.rowCount, granularity: rowTile, chunks: chunkCount(tokenCount: tokenCount, pool: pool)) { rows in
                var t0 = 0
                while t0 < tokenCount {
                    let t1 = min(tokenCount, t0 + tokenBlock)
                    for r in rows {
                        let row = w.row(r)
                        var t = t0
                        while t + 4 <= t1 {
                            dot4(F.self, row, blocks, x + t * k, k, sums + t * blocks, blocks, y + t * yStride + r, yStride)
                            t += 4
                        }
                        while t < t1 {
                            y[t * yStride + r] = dot1(F.self, row, blocks, x + t * k, sums + t * blocks)
                            t += 1
                        }
                    }
                    t0 = t1
                }
            }
        }
    }

    /// Σ of 32 floats in a fixed order.
    @inlinable @inline(__always)
    static func blockSum(_ x: UnsafePointer<Float>) -> Float {
        let s = (x.loadSIMD8(0) + x.loadSIMD8(8)) + (x.loadSIMD8(16) + x.loadSIMD8(24))
        return horizontalSum(s)
    }

    /// The lanes of `v` summed pairwise in a fixed order.
    @inlinable @inline(__always)
    public static func horizontalSum(_ v: SIMD8<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    @inlinable @inline(__always)
    static func partial(
        _ q: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), _ x: UnsafePointer<Float>
    ) -> SIMD8<Float> {
        var p = q.0 * x.loadSIMD8(0)
        p.addProduct(q.1, x.loadSIMD8(8))
        p.addProduct(q.2, x.loadSIMD8(16))
        p.addProduct(q.3, x.loadSIMD8(24))
        return p
    }

    @inlinable @inline(__always)
    static func accumulate<F: WeightFormat>(_: F.Type, _ acc: inout SIMD8<Float>, _ p: SIMD8<Float>, _ scale: Float) {
        if F.isScaled { acc.addProduct(SIMD8(repeating: scale), p) } else { acc += p }
    }

    /// The group holding block `b` of a row, and the block's index inside it.
    @inlinable @inline(__always)
    static func locate<F: WeightFormat>(_: F.Type, _ row: UnsafeRawPointer, _ b: Int) -> (UnsafeRawPointer, Int) {
        if F.blocksPerGroup == 1 { return (row + b &* F.bytesPerGroup, 0) }
        return (row + (b / F.blocksPerGroup) &* F.bytesPerGroup, b % F.blocksPerGroup)
    }

    /// One row against one token.
    @inlinable @inline(__always)
    static func dot1<F: WeightFormat>(
        _: F.Type, _ row: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>
    ) -> Float {
        var acc = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let (group, j) = locate(F.self, row, b)
            let q = F.quants(group, j)
            accumulate(F.self, &acc, partial(q, x + b * 32), F.scale(group, j))
            if F.hasOffset { off.addProduct(F.offset(group, j), sums[b]) }
        }
        return horizontalSum(acc) + off
    }

    /// One row against four consecutive tokens, decoding each block once.
    @inlinable @inline(__always)
    static func dot4<F: WeightFormat>(
        _: F.Type, _ row: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Float>, _ xStride: Int,
        _ sums: UnsafePointer<Float>, _ sumStride: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int
    ) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var o0: Float = 0, o1: Float = 0, o2: Float = 0, o3: Float = 0
        for b in 0..<blocks {
            let (group, j) = locate(F.self, row, b)
            let q = F.quants(group, j)
            let s = F.scale(group, j)
            let xb = x + b * 32
            accumulate(F.self, &a0, partial(q, xb), s)
            accumulate(F.self, &a1, partial(q, xb + xStride), s)
            accumulate(F.self, &a2, partial(q, xb + 2 * xStride), s)
            accumulate(F.self, &a3, partial(q, xb + 3 * xStride), s)
            if F.hasOffset {
                let o = F.offset(group, j)
                o0.addProduct(o, sums[b])
                o1.addProduct(o, sums[b + sumStride])
                o2.addProduct(o, sums[b + 2 * sumStride])
                o3.addProduct(o, sums[b + 3 * sumStride])
            }
        }
        y[0] = horizontalSum(a0) + o0
        y[yStride] = horizontalSum(a1) + o1
        y[2 * yStride] = horizontalSum(a2) + o2
        y[3 * yStride] = horizontalSum(a3) + o3
    }
}
