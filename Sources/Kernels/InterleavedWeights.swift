import CKernels

/// A Q4_1 matrix's rows copied into groups of eight interleaved rows (`pf_q4_1_x8`, CKernels'
/// interleaved.c), for the 8-bit path: one vector lane per row, so a block's integer dot product
/// for eight rows is eight `vpdpbusd` into one vector and its scaling one multiply-add, instead
/// of four vector operations per block and row. 2.7–3.7× the row-by-row kernel on one core
/// (192 bytes per 8 rows and block against 160: the scales are stored as floats).
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
        type == .q4_1 && rowCount % 8 == 0 && rowCount > 0
    }

    /// The interleaved copy of `w`, or nil when it has none (``canInterleave(type:rowCount:)``).
    /// Packed on the threads of `pool`, eight rows at a time.
    public init?(_ w: WeightMatrix, pool: ThreadPool = .shared) {
        guard Self.canInterleave(type: w.type, rowCount: w.rowCount) else { return nil }
        let blocks = Int32(w.blocksPerRow)
        byteCount = pf_q4_1_x8_bytes(Int32(w.rowCount), blocks)
        storage = .allocate(byteCount: byteCount, alignment: 64)
        let out = storage.assumingMemoryBound(to: pf_q4_1_x8.self)
        pool.parallelRanges(w.rowCount, granularity: 8, chunks: pool.threadCount * 4) { rows in
            pf_q4_1_x8_pack(w.row(rows.lowerBound), w.bytesPerRow, Int32(rows.count), blocks,
                            out + rows.lowerBound / 8 * Int(blocks))
        }
    }

    deinit { storage.deallocate() }

    /// `w` (the matrix this copy was made from) reading its 8-bit products from the copy.
    public func matrix(_ w: WeightMatrix) -> WeightMatrix {
        precondition(pf_q4_1_x8_bytes(Int32(w.rowCount), Int32(w.blocksPerRow)) == byteCount, "not the matrix of this copy")
        return WeightMatrix(type: w.type, rowCount: w.rowCount, columnCount: w.columnCount, base: w.base,
                            interleaved: UnsafeRawPointer(storage))
    }
}
