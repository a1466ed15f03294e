import CKernels

/// Which precision the activations entering a matrix product have.
public enum ActivationPrecision: String, Sendable, Hashable, CaseIterable, Codable {
    /// fp32 activations against the decoded weights: matches the float64 reference to 1e-3.
    case f32
    /// Activations rounded to 8 bits per block of 32 and integer dot products (llama.cpp's CPU
    /// scheme): faster on quantized weights, numerically different (checked by perplexity).
    case q8
}

/// A batch of activation rows quantized to 8 bits per block of 32, for ``Matmul/multiply(_:q8:tokenCount:y:yStride:pool:)``.
/// Owns its buffer; reuse one per model state so steady-state steps allocate nothing.
public final class Q8Activations {
    public private(set) var tokenCount = 0
    public private(set) var blocksPerRow = 0
    private var capacity = 0
    private var blocks: UnsafeMutablePointer<pf_q8_block>?

    public init() {}

    deinit { blocks?.deallocate() }

    /// Quantizes `tokenCount` rows of `columnCount` floats (a multiple of 32).
    public func quantize(_ x: UnsafePointer<Float>, tokenCount: Int, columnCount: Int, pool: ThreadPool = .shared) {
        let perRow = columnCount / 32
        let need = tokenCount * perRow
        if need > capacity {
            blocks?.deallocate()
            capacity = max(need, 2 * capacity)
            blocks = .allocate(capacity: capacity)
        }
        self.tokenCount = tokenCount
        blocksPerRow = perRow
        let out = blocks!
        let vector = Matmul.usesAVX2
        pool.parallelRanges(tokenCount, chunks: tokenCount >= 16 ? pool.threadCount : 1) { rows in
            for t in rows {
                if vector {
                    pf_quantize_q8_avx2(x + t * columnCount, Int32(perRow), out + t * perRow)
                } else {
                    pf_quantize_q8(x + t * columnCount, Int32(perRow), out + t * perRow)
                }
            }
        }
    }

    var pointer: UnsafePointer<pf_q8_block> { UnsafePointer(blocks!) }
}

extension Matmul {
    /// Whether the 8-bit path can run `w`: quantized weights on a CPU with AVX2.
    public static func supportsQ8(_ w: WeightMatrix) -> Bool {
        guard usesAVX2 else { return false }
        switch w.type {
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: return true
        case .f32, .f16, .bf16: return false
        }
    }

    /// `y = X Wᵀ` with X given as 8-bit activations (``supportsQ8(_:)`` must hold).
    public static func multiply(
        _ w: WeightMatrix, q8 x: Q8Activations, y: UnsafeMutablePointer<Float>, yStride: Int? = nil,
        pool: ThreadPool = .shared
    ) {
        multiply(w, q8: x, y: y, yStride: yStride, pool: pool, path: KernelPath.active)
    }

    /// ``multiply(_:q8:y:yStride:pool:)`` on a chosen path (tests compare them): any path but the
    /// portable one, which the CPU must have.
    static func multiply(
        _ w: WeightMatrix, q8 x: Q8Activations, y: UnsafeMutablePointer<Float>, yStride: Int?,
        pool: ThreadPool, path: KernelPath
    ) {
        precondition(supportsQ8(w) && x.blocksPerRow == w.blocksPerRow, "the 8-bit path needs quantized weights of the same width")
        precondition(path.usesCKernels && path.isAvailable, "the 8-bit path needs AVX2")
        let stride = yStride ?? w.rowCount
        pool.parallelRanges(w.rowCount, granularity: rowGranularity(w), chunks: chunkCount(tokenCount: x.tokenCount, pool: pool)) { rows in
            q8Rows(w, rows, x.pointer, tokenCount: x.tokenCount, y: y, yStride: stride, path: path)
        }
    }

    /// The rows a share of a parallel product starts on a multiple of: 8 for an interleaved
    /// matrix (its groups of rows), else 4.
    static func rowGranularity(_ w: WeightMatrix) -> Int { w.interleaved != nil ? 8 : 4 }

    /// Rows `rows` of `y = X Wᵀ` on the 8-bit kernel of `path` (one share of a parallel loop);
    /// an interleaved matrix's rows must start and end on multiples of 8.
    @inline(__always)
    static func q8Rows(
        _ w: WeightMatrix, _ rows: Range<Int>, _ x: UnsafePointer<pf_q8_block>, tokenCount: Int,
        y: UnsafeMutablePointer<Float>, yStride: Int, path: KernelPath = KernelPath.active
    ) {
        if let packed = w.interleaved {
            let isa = path.q8InstructionSet ?? Int32(PF_ISA_AVX2), blocks = Int32(w.blocksPerRow)
            let r0 = Int32(rows.lowerBound), r1 = Int32(rows.upperBound)
            let done: Int32
            switch w.type {
            case .q4_1:
                done = pf_matmul_rows_q4_1_x8_on(isa, packed.assumingMemoryBound(to: pf_q4_1_x8.self), blocks, r0, r1, x,
                                                 Int32(tokenCount), y, yStride)
            case .q5_0:
                done = pf_matmul_rows_q5_0_x8_on(isa, packed.assumingMemoryBound(to: pf_q5_0_x8.self), blocks, r0, r1, x,
                                                 Int32(tokenCount), y, yStride)
            default:
                done = pf_matmul_rows_u8_x8_on(isa, packed.assumingMemoryBound(to: pf_u8_x8.self), InterleavedWeights.byteBias,
                                               blocks, r0, r1, x, Int32(tokenCount), y, yStride)
            }
            precondition(done == 1, "interleaved rows \(rows) are not whole groups of 8")
            return
        }
        _ = pf_matmul_rows_q8_on(
            path.q8InstructionSet ?? Int32(PF_ISA_AVX2), w.type.kernelCode, w.base, w.bytesPerRow, Int32(w.blocksPerRow),
            Int32(rows.lowerBound), Int32(rows.upperBound), x, Int32(tokenCount), y, yStride)
    }
}
