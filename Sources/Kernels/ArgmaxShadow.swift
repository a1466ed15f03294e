import CKernels
import Synchronization

/// A 5-bit copy of an output matrix that finds the exact argmax of `y = W x` while reading about
/// two thirds of its bytes (Q8_0: 22 of 34 per block), for greedy decoding (and its k largest
/// logits, for top-k sampling).
///
/// Every row is requantized, per block of 32, to 5 bits (`d·(u − 16)`, `d = max|w| / 15` as f16)
/// and stored as an interleaved Q5_0 copy (`pf_q5_0_x8`: the 8-bit kernels read it with integer
/// dot products). With it each row keeps two numbers, rounded up: `‖e_r‖`, the Euclidean norm of
/// its error `e_r = w_r − s_r` (the decoded weights minus the shadow's), and `‖s_r‖`. A product
/// for the argmax (``Matmul/multiplyForLargest(_:shadow:x:q8:exactIsQ8:largest:y:pool:)``) then
///
/// 1. computes the shadow logits `S_r = s_r · x'` of every row (`x'`: the token's activations
///    rounded to 8 bits, as the 8-bit path rounds them);
/// 2. computes exactly (the same kernel and bits as the full product) the row `m` where `S` is
///    largest: `L_m`;
/// 3. keeps every row whose bound reaches it, `S_r + B_r ≥ L_m`, and computes those exactly; every
///    other row's logit is `−inf`.
///
/// For the k largest logits (top-k sampling) step 2 computes the k rows where `S` is largest and
/// takes the least of their exact logits as `L_m`: the k largest are at least that, so all of
/// them, and every row tied with the k-th, are kept.
///
/// The bound: `L_r − S_r = e_r · x + s_r · (x − x')`, so by Cauchy–Schwarz
/// `|L_r − S_r| ≤ ‖e_r‖‖x‖ + ‖s_r‖‖x − x'‖`, where `x` is what the full product multiplies (the
/// fp32 activations, or `x'` itself on the 8-bit path). Both products round: each of their
/// `n + O(blocks)` floating-point steps errs by at most one unit in the last place of a partial
/// sum, and every partial sum is at most a small multiple of `‖w_r‖‖x‖` (blocks combine integer
/// sums whose biased parts cancel: a factor below 20), which `γ = (n + 64)·2⁻²³` times twice
/// covers: `B_r = ‖e_r‖‖x‖(1 + 2γ) + ‖s_r‖(‖x − x'‖ + 2γ(‖x‖ + ‖x'‖))`. The argmax row `a` has
/// `S_a + B_a ≥ L_a ≥ L_m`, so it is always kept, as is every row tied with it: the lowest index
/// among the largest logits is the full product's. A comparison with a NaN keeps the row.
///
/// How many rows are computed exactly depends on how far the best logit stands out. Measured on
/// 300 greedy tokens of each model (SmolLM2's 49,152 rows, Gemma 3's 262,144): fp32 activations,
/// mean 314 and 67 rows (most 3,157 and 1,359); 8-bit activations, whose candidates are computed
/// eight rows at a time, 938 and 271. A 4-bit shadow (18 bytes a block) left SmolLM2 17,670 rows
/// a token to compute, a third of the matrix; bounding with the threshold `max(S − B)` instead
/// of an exact `L_m`, 10 to 30 times more rows than here.
public final class ArgmaxShadow: @unchecked Sendable {
    // @unchecked: written once in init, read-only afterwards.
    public let rowCount: Int
    public let blocks: Int
    /// Bytes the shadow product reads: the 5-bit copy and the two norms of every row.
    public let byteCount: Int
    let packed: UnsafeMutableRawPointer
    /// `‖e_r‖` and `‖s_r‖` of every row, rounded up (`+inf` where they are not finite).
    let errorNorms: UnsafeMutablePointer<Float>
    let shadowNorms: UnsafeMutablePointer<Float>

    /// Whether a matrix can have a shadow on this machine: rows in groups of 8, and the C kernels
    /// (the portable path runs the full product).
    public static func canShadow(_ w: WeightMatrix) -> Bool {
        Matmul.usesAVX2 && w.rowCount % 8 == 0 && w.rowCount > 0 && w.columnCount % 32 == 0
    }

    /// The shadow of `w`, or nil where it has none (``canShadow(_:)``). Built on the threads of
    /// `pool`, eight rows at a time, from each row's decoded values.
    public init?(_ w: WeightMatrix, pool: ThreadPool = .shared) {
        guard Self.canShadow(w) else { return nil }
        rowCount = w.rowCount
        blocks = w.blocksPerRow
        let packedBytes = pf_q5_0_x8_bytes(Int32(rowCount), Int32(blocks))
        byteCount = packedBytes + 2 * rowCount * MemoryLayout<Float>.size
        packed = .allocate(byteCount: packedBytes, alignment: 64)
        errorNorms = .allocate(capacity: rowCount)
        shadowNorms = .allocate(capacity: rowCount)
        let packed = packed, errorNorms = errorNorms, shadowNorms = shadowNorms, blocks = blocks
        let blockBytes = 22, rowBytes = blocks * blockBytes
        pool.parallelRanges(rowCount, granularity: 8, chunks: pool.threadCount * 4) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: w.columnCount) { decoded in
                withUnsafeTemporaryAllocation(byteCount: 8 * rowBytes, alignment: 16) { q5 in
                    let q5 = q5.baseAddress!, decoded = decoded.baseAddress!
                    for group in stride(from: rows.lowerBound, to: rows.upperBound, by: 8) {
                        for lane in 0..<8 {
                            let r = group + lane
                            w.dequantizeRow(r, into: decoded)
                            var errorSquares = 0.0, shadowSquares = 0.0
                            for b in 0..<blocks {
                                Self.encodeQ5(decoded + b * 32, into: q5 + lane * rowBytes + b * blockBytes,
                                              errorSquares: &errorSquares, shadowSquares: &shadowSquares)
                            }
                            errorNorms[r] = Self.roundedUp(errorSquares.squareRoot())
                            shadowNorms[r] = Self.roundedUp(shadowSquares.squareRoot())
                        }
                        let destination = packed + group / 8 * blocks * MemoryLayout<pf_q5_0_x8>.stride
                        pf_q5_0_x8_pack(q5, rowBytes, 8, Int32(blocks), destination.assumingMemoryBound(to: pf_q5_0_x8.self))
                    }
                }
            }
        }
    }

    deinit {
        packed.deallocate()
        errorNorms.deallocate()
        shadowNorms.deallocate()
    }

    /// A float at least `x` (`+inf` for what is not finite).
    static func roundedUp(_ x: Double) -> Float {
        guard x.isFinite else { return .infinity }
        let f = Float(x)
        return Double(f) >= x ? f : f.nextUp
    }

    /// One block of 32 values as a Q5_0 block (f16 `d = max|v| / 15`, `u = round(v / d) + 16`
    /// clamped to 0...31), adding its squared error and squared values to the sums (each block's
    /// float sum of squares raised by 2⁻¹⁸, more than its rounding can take away). The error is
    /// taken from the stored `u`, so values that are not numbers give a sum that is not finite.
    @inline(__always)
    static func encodeQ5(
        _ v: UnsafePointer<Float>, into block: UnsafeMutableRawPointer, errorSquares: inout Double, shadowSquares: inout Double
    ) {
        let x = (v.loadSIMD8(0), v.loadSIMD8(8), v.loadSIMD8(16), v.loadSIMD8(24))
        let magnitude = { (a: SIMD8<Float>) in unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self) }
        let largest = VectorMath.maximumLane(VectorMath.maximum(
            VectorMath.maximum(magnitude(x.0), magnitude(x.1)), VectorMath.maximum(magnitude(x.2), magnitude(x.3))))
        let d = Float(Float16(largest / 15))
        let inverse = SIMD8<Float>(repeating: d > 0 && d.isFinite ? 1 / d : 0)
        let scale = SIMD8<Float>(repeating: d)
        var errors = SIMD8<Float>(), values = SIMD8<Float>()
        /// u of eight values (0...31, round to nearest even: 1.5·2²³ added and taken away).
        func quantize(_ a: SIMD8<Float>) -> SIMD8<UInt32> {
            var q = (a * inverse + 12_582_912) - 12_582_912
            q = q.replacing(with: -16, where: q .< -16).replacing(with: 15, where: q .> 15)
            let u = unsafeBitCast(q + (8_388_608 + 16), to: SIMD8<UInt32>.self) & 31
            let uf = unsafeBitCast(u | 0x4B00_0000, to: SIMD8<Float>.self) - 8_388_608
            let value = scale * (uf - 16)  // exact: an 11-bit scale times a 5-bit integer
            let error = a - value
            errors.addProduct(error, error)
            values.addProduct(value, value)
            return u
        }
        let u0 = quantize(x.0), u1 = quantize(x.1), u2 = quantize(x.2), u3 = quantize(x.3)
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
        func fifthBits(_ u: SIMD8<UInt32>) -> UInt32 { (((u &>> 4) & 1) &<< lanes).wrappedSum() }
        let qh = fifthBits(u0) | fifthBits(u1) << 8 | fifthBits(u2) << 16 | fifthBits(u3) << 24
        let low = SIMD8<UInt8>(truncatingIfNeeded: (u0 & 15) | (u2 & 15) &<< 4)
        let high = SIMD8<UInt8>(truncatingIfNeeded: (u1 & 15) | (u3 & 15) &<< 4)
        let raise = 1 + 0x1p-18
        errorSquares += Double(errors.sum()) * raise
        shadowSquares += Double(values.sum()) * raise
        block.storeBytes(of: Float16(d).bitPattern, toByteOffset: 0, as: UInt16.self)
        block.storeBytes(of: qh, toByteOffset: 2, as: UInt32.self)
        block.storeBytes(of: low, toByteOffset: 6, as: SIMD8<UInt8>.self)
        block.storeBytes(of: high, toByteOffset: 14, as: SIMD8<UInt8>.self)
    }
}

extension Matmul {
    /// `y = X Wᵀ` for the `largest[t]` largest logits of each token `t` only (1: the argmax,
    /// greedy; k: top-k sampling; each at least 1 and below the row count): every row that could
    /// be among them gets its exact value (bit for bit what
    /// ``multiply(_:x:tokenCount:y:yStride:pool:)``, or ``multiply(_:q8:y:yStride:pool:)`` when
    /// `exactIsQ8`, gives), the others `−inf` (``ArgmaxShadow`` says how). `x` holds
    /// `largest.count` fp32 rows and `q8` the same rows quantized; `y` is
    /// `largest.count × w.rowCount`. Returns how many rows it computed exactly.
    @discardableResult
    public static func multiplyForLargest(
        _ w: WeightMatrix, shadow: ArgmaxShadow, x: UnsafePointer<Float>, q8: Q8Activations, exactIsQ8: Bool,
        largest: [Int], y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
    ) -> Int {
        multiplyForLargest(w, shadow: shadow, x: x, q8: q8, exactIsQ8: exactIsQ8, largest: largest, y: y, pool: pool,
                           path: KernelPath.active)
    }

    static func multiplyForLargest(
        _ w: WeightMatrix, shadow: ArgmaxShadow, x: UnsafePointer<Float>, q8: Q8Activations, exactIsQ8: Bool,
        largest: [Int], y: UnsafeMutablePointer<Float>, pool: ThreadPool, path: KernelPath
    ) -> Int {
        let tokenCount = largest.count
        precondition(largest.allSatisfy { $0 >= 1 && $0 < w.rowCount }, "between 1 and the row count − 1 largest logits a token")
        let rows = w.rowCount, blocks = w.blocksPerRow, n = w.columnCount
        precondition(shadow.rowCount == rows && shadow.blocks == blocks, "not this matrix's shadow")
        precondition(q8.tokenCount == tokenCount && q8.blocksPerRow == blocks, "the 8-bit input does not match")
        guard tokenCount > 0 else { return 0 }
        precondition(path.usesCKernels && path.isAvailable, "the shadow needs the C kernels")
        precondition(!exactIsQ8 || supportsQ8(w), "the 8-bit path needs quantized weights")
        let isa = path.q8InstructionSet ?? Int32(PF_ISA_AVX2)
        let xq = q8.pointer
        let shadowBlocks = UnsafePointer(shadow.packed.assumingMemoryBound(to: pf_q5_0_x8.self))
        // 1. The shadow logits of every row.
        pool.parallelRanges(rows, granularity: 8, chunks: chunkCount(tokenCount: tokenCount, pool: pool)) { r in
            _ = pf_matmul_rows_q5_0_x8_on(isa, shadowBlocks, Int32(blocks), Int32(r.lowerBound), Int32(r.upperBound), xq,
                                          Int32(tokenCount), y, rows)
        }
        // The rows the exact kernel computes at once: an interleaved matrix's groups of 8, else one.
        let group = exactIsQ8 && w.interleaved != nil ? 8 : 1
        let needSums = !exactIsQ8 && hasOffset(w.type)
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: tokenCount * (3 + (needSums ? blocks : 0))) { scratch in
            let scratch = scratch.baseAddress!
            let a = scratch, b = scratch + tokenCount, threshold = scratch + 2 * tokenCount, sums = scratch + 3 * tokenCount
            if needSums { blockSums(x, tokenCount: tokenCount, blocks: blocks, into: sums) }
            /// Rows `r0 ..< r0 + group` for token `t`, exactly, into `out`.
            func exact(_ r0: Int, _ t: Int, into out: UnsafeMutablePointer<Float>) {
                if exactIsQ8 {
                    q8Rows(w, r0..<(r0 + group), xq + t * blocks, tokenCount: 1, y: out - r0, yStride: rows, path: path)
                } else {
                    _ = pf_matmul_rows(w.type.kernelCode, w.base + r0 * w.bytesPerRow, w.bytesPerRow, Int32(blocks), 0,
                                       Int32(group), x + t * n, 1, sums + t * blocks, out, 1)
                }
            }
            // 2. Per token: the bound's two factors, and the threshold: the exact logit of the
            // shadow's best row, or under top-k the least exact logit of the shadow's k best rows
            // (the k largest exact logits are at least that).
            let gamma = Double(n + 64) * 0x1p-23
            pool.parallelRanges(tokenCount, chunks: tokenCount >= 4 ? pool.threadCount : 1) { tokens in
                for t in tokens {
                    var exactSquares = 0.0, roundedSquares = 0.0, differenceSquares = 0.0
                    for k in 0..<blocks {
                        let block = xq[t * blocks + k]
                        withUnsafeBytes(of: block.q) { q in
                            for i in 0..<32 {
                                let rounded = Double(block.d) * Double(Int8(bitPattern: q[i]))
                                let exact = exactIsQ8 ? rounded : Double(x[t * n + k * 32 + i])
                                exactSquares += exact * exact
                                roundedSquares += rounded * rounded
                                differenceSquares += (exact - rounded) * (exact - rounded)
                            }
                        }
                    }
                    let norm = exactSquares.squareRoot(), roundedNorm = roundedSquares.squareRoot()
                    a[t] = ArgmaxShadow.roundedUp(norm * (1 + 2 * gamma))
                    b[t] = ArgmaxShadow.roundedUp(differenceSquares.squareRoot() + 2 * gamma * (norm + roundedNorm))
                    let yt = y + t * rows
                    var best: [(value: Float, index: Int)] = []
                    if largest[t] == 1 {
                        best = [(yt[0], Elementwise.argmax(yt, count: rows))]
                    } else {
                        Elementwise.largest(yt, count: rows, k: largest[t], into: &best)
                    }
                    var floor = best.count == largest[t] ? Float.infinity : -.infinity
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: group) { out in
                        for (_, r) in best {
                            exact(r / group * group, t, into: out.baseAddress!)
                            let value = out[r % group]
                            floor = value.isNaN ? -.infinity : min(floor, value)
                        }
                    }
                    threshold[t] = floor
                }
            }
            // 3. Keep the rows whose bound reaches the threshold and compute them exactly; the
            // others become −inf. Non-finite factors keep every row (NaN compares false).
            let total = Atomic<Int>(0)
            let en = UnsafePointer(shadow.errorNorms), sn = UnsafePointer(shadow.shadowNorms)
            pool.parallelRanges(rows, granularity: 8, chunks: pool.threadCount * 8) { share in
                let lo = share.lowerBound, hi = share.upperBound
                var computed = 0
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { out in
                    let out = out.baseAddress!
                    for t in 0..<tokenCount {
                        let yt = y + t * rows
                        let at = SIMD8<Float>(repeating: a[t]), bt = SIMD8<Float>(repeating: b[t])
                        let floor = SIMD8<Float>(repeating: threshold[t])
                        var r = lo
                        while r < hi {
                            let s = UnsafeRawPointer(yt + r).loadUnaligned(as: SIMD8<Float>.self)
                            let e = UnsafeRawPointer(en + r).loadUnaligned(as: SIMD8<Float>.self)
                            let m = UnsafeRawPointer(sn + r).loadUnaligned(as: SIMD8<Float>.self)
                            let bound = (m * bt).addingProduct(e, at)
                            let keep = .!((s + bound) .< floor)
                            if !any(keep) {
                                UnsafeMutableRawPointer(yt + r).storeBytes(of: SIMD8<Float>(repeating: -.infinity), as: SIMD8<Float>.self)
                            } else {
                                if group == 8 {
                                    exact(r, t, into: out)
                                    computed += 8
                                }
                                for i in 0..<8 {
                                    if !keep[i] {
                                        yt[r + i] = -.infinity
                                    } else if group == 8 {
                                        yt[r + i] = out[i]
                                    } else {
                                        exact(r + i, t, into: yt + r + i)
                                        computed += 1
                                    }
                                }
                            }
                            r += 8
                        }
                    }
                }
                total.add(computed, ordering: .relaxed)
            }
            return total.load(ordering: .relaxed) + largest.reduce(0, +) * group
        }
    }
}
