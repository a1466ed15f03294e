import CKernels

/// One output of a fused product: `y = X Wᵀ` (`y` holds `tokenCount × w.rowCount`).
public struct MatmulTarget {
    public let w: WeightMatrix
    public let y: UnsafeMutablePointer<Float>
    public init(_ w: WeightMatrix, _ y: UnsafeMutablePointer<Float>) {
        self.w = w
        self.y = y
    }
}

extension Matmul {
    /// `y = X Wᵀ` for several matrices over the same input (q|k|v, gate|up) in one parallel loop:
    /// the rows of all of them are one range the threads share, and the input's block sums (or
    /// its 8-bit quantization, given as `q8`) are computed once. Each output is the one
    /// ``multiply(_:x:tokenCount:y:yStride:pool:)`` gives, bit for bit (the same kernel on the
    /// same rows); on the portable path the products simply run one after another.
    public static func multiply(
        _ targets: [MatmulTarget], x: UnsafePointer<Float>, q8: Q8Activations?, tokenCount: Int, pool: ThreadPool = .shared
    ) {
        guard let first = targets.first else { return }
        let blocks = first.w.blocksPerRow
        precondition(targets.allSatisfy { $0.w.blocksPerRow == blocks }, "fused products need one input width")
        // Each matrix on the path its own multiply would take: 8-bit where given and supported.
        func usesQ8(_ w: WeightMatrix) -> Bool { q8 != nil && supportsQ8(w) }
        guard usesAVX2 else {
            for t in targets {
                if let q8, usesQ8(t.w) { multiply(t.w, q8: q8, y: t.y, pool: pool) } else { multiply(t.w, x: x, tokenCount: tokenCount, y: t.y, pool: pool) }
            }
            return
        }
        if let q8 { precondition(q8.blocksPerRow == blocks && q8.tokenCount == tokenCount, "the 8-bit input does not match") }
        let needSums = targets.contains { !usesQ8($0.w) && hasOffset($0.w.type) }
        let totalRows = targets.reduce(0) { $0 + $1.w.rowCount }
        let xq = q8?.pointer
        withUnsafeTemporaryAllocation(of: Float.self, capacity: needSums ? tokenCount * blocks : 1) { sums in
            let sums = sums.baseAddress!
            if needSums { blockSums(x, tokenCount: tokenCount, blocks: blocks, into: sums) }
            // Shares on multiples of 8 when a matrix is interleaved (whole groups of its rows; every
            // matrix before it then has a multiple of 8 rows), else of 4.
            let interleaves = q8 != nil && targets.contains { $0.w.interleaved != nil }
            precondition(!interleaves || targets.allSatisfy { $0.w.rowCount % 8 == 0 }, "fused interleaved products need rows in groups of 8")
            pool.parallelRanges(totalRows, granularity: interleaves ? 8 : 4, chunks: chunkCount(tokenCount: tokenCount, pool: pool)) { rows in
                var start = 0
                for t in targets {
                    let lo = max(rows.lowerBound, start), hi = min(rows.upperBound, start + t.w.rowCount)
                    if lo < hi {
                        let w = t.w
                        if let xq, usesQ8(w) {
                            q8Rows(w, (lo - start)..<(hi - start), xq, tokenCount: tokenCount, y: t.y, yStride: w.rowCount)
                        } else {
                            _ = pf_matmul_rows(
                                w.type.kernelCode, w.base, w.bytesPerRow, Int32(blocks), Int32(lo - start), Int32(hi - start),
                                x, Int32(tokenCount), sums, t.y, w.rowCount)
                        }
                    }
                    start += t.w.rowCount
                }
            }
        }
    }
}
