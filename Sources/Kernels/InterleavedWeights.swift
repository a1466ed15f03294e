import CKernels

/// A Q4_1, Q8_0 or Q5_0 matrix's rows copied into groups of eight interleaved rows (`pf_q4_1_x8`,
/// `pf_u8_x8` of whole unsigned bytes for Q8_0, `pf_q5_0_x8`; CKernels' interleaved.c), for the
/// 8-bit path: one vector lane per row, so a block's integer dot product for eight rows is eight
/// `vpdpbusd` into one vector and its scaling one multiply-add pair, instead of four vector
/// operations per block and row. On one core: Q4_1 2.7–3.7× the row-by-row kernel, Q8_0
/// 1.7–3.7× (1 to 64 tokens). Bytes per 8 rows and block: Q4_1 160, Q8_0 272 and Q5_0 176, as
/// many as the file's (the scales stay f16, converted once per block; Q5_0's fifth bits are a
/// plane beside the nibbles).
///
/// The copy owns its memory; a ``WeightMatrix`` made by ``matrix(_:)`` points into it and must
/// not outlive it. Its outputs differ from the row-by-row kernel's in rounding only (another
/// order of the same sums), and are the same bits on every instruction set and for any batch.
public final class InterleavedWeights: @unchecked Sendable {
    // @unchecked: written once in init, read-only afterwards.
    public let byteCount: Int
    private let storage: UnsafeMutableRawPointer

    /// Whether matrices of `type` with `rowCount` rows have an interleaved form.
    public static func canInterleave(type: WeightType, rowCount: Int) -> Bool {
        (type == .q4_1 || type == .q8_0 || type == .q5_0) && rowCount % 8 == 0 && rowCount > 0
    }

    /// Bytes of the copy of `rowCount` rows of `blocks` blocks of `type`.
    static func byteCount(type: WeightType, rowCount: Int, blocks: Int) -> Int {
        switch type {
        case .q4_1: pf_q4_1_x8_bytes(Int32(rowCount), Int32(blocks))
        case .q5_0: pf_q5_0_x8_bytes(Int32(rowCount), Int32(blocks))
        default: pf_u8_x8_bytes(Int32(rowCount), Int32(blocks))
        }
    }

    /// Bytes of one group of eight rows' block.
    static func groupBlockBytes(_ type: WeightType) -> Int {
        switch type {
        case .q4_1: MemoryLayout<pf_q4_1_x8>.stride
        case .q5_0: MemoryLayout<pf_q5_0_x8>.stride
        default: MemoryLayout<pf_u8_x8>.stride
        }
    }

    /// The interleaved copy of `w`, or nil when it has none (``canInterleave(type:rowCount:)``).
    /// Packed on the threads of `pool`, eight rows at a time.
    public init?(_ w: WeightMatrix, pool: ThreadPool = .shared) {
        guard Self.canInterleave(type: w.type, rowCount: w.rowCount) else { return nil }
        let blocks = w.blocksPerRow, type = w.type
        byteCount = Self.byteCount(type: type, rowCount: w.rowCount, blocks: blocks)
        storage = .allocate(byteCount: byteCount, alignment: 64)
        let out = storage, groupBytes = Self.groupBlockBytes(type)
        pool.parallelRanges(w.rowCount, granularity: 8, chunks: pool.threadCount * 4) { rows in
            let destination = out + rows.lowerBound / 8 * blocks * groupBytes
            let source = w.row(rows.lowerBound), count = Int32(rows.count)
            switch type {
            case .q4_1:
                pf_q4_1_x8_pack(source, w.bytesPerRow, count, Int32(blocks), destination.assumingMemoryBound(to: pf_q4_1_x8.self))
            case .q8_0:
                pf_q8_0_x8_pack(source, w.bytesPerRow, count, Int32(blocks), destination.assumingMemoryBound(to: pf_u8_x8.self))
            default:
                pf_q5_0_x8_pack(source, w.bytesPerRow, count, Int32(blocks), destination.assumingMemoryBound(to: pf_q5_0_x8.self))
            }
        }
    }

    deinit { storage.deallocate() }

    /// What the unsigned bytes of a `pf_u8_x8` copy (Q8_0) are offset by: a block stands for
    /// d·(u − bias).
    static let byteBias: Float = 128

    /// `w` (the matrix this copy was made from) reading its 8-bit products from the copy.
    public func matrix(_ w: WeightMatrix) -> WeightMatrix {
        precondition(Self.byteCount(type: w.type, rowCount: w.rowCount, blocks: w.blocksPerRow) == byteCount,
                     "not the matrix of this copy")
        return WeightMatrix(type: w.type, rowCount: w.rowCount, columnCount: w.columnCount, base: w.base,
                            interleaved: UnsafeRawPointer(storage))
    }
}
