/// The weight encodings the matmul kernels read directly (no fp32 copy of the model is kept).
public enum WeightType: String, Sendable, Hashable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K

    /// Elements per block: 32 for the quantized types, and 32 for the plain types too so every
    /// kernel walks rows in the same 32-element steps. K-quant super-blocks of 256 are groups of
    /// 8 such blocks (each with its own scale and minimum).
    public static let blockSize = 32

    /// The number CKernels uses for this encoding (`PF_WEIGHT_*`).
    @inlinable public var kernelCode: Int32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .bf16: 2
        case .q8_0: 3
        case .q4_0: 4
        case .q4_1: 5
        case .q5_0: 6
        case .q5_1: 7
        case .q4_K: 8
        case .q5_K: 9
        case .q6_K: 10
        }
    }

    /// 32-element blocks per stored group: 1, or 8 for the K-quants' 256-element super-blocks.
    @inlinable public var blocksPerGroup: Int {
        switch self {
        case .q4_K, .q5_K, .q6_K: 8
        default: 1
        }
    }

    /// Elements per stored group: a row must hold a whole number of them.
    @inlinable public var elementsPerGroup: Int { blocksPerGroup * Self.blockSize }

    /// Bytes of one group (one 32-element block, or one K-quant super-block).
    @inlinable public var bytesPerGroup: Int {
        switch self {
        case .f32: 128
        case .f16, .bf16: 64
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        }
    }
}

/// A row-major matrix of `rowCount` rows of `columnCount` weights, stored in `type`, viewed in
/// place (typically inside a memory-mapped model file). `y = W x` reads row `r` for `y[r]`.
///
/// Rows must be whole groups (`columnCount % type.elementsPerGroup == 0`: 32, or 256 for K-quants).
public struct WeightMatrix: @unchecked Sendable {
    // @unchecked: a read-only view; the owner (the model) keeps the memory alive and never
    // writes it.
    public let type: WeightType
    public let rowCount: Int
    public let columnCount: Int
    public let base: UnsafeRawPointer
    /// The same rows interleaved for the 8-bit path (``InterleavedWeights``), when made: the
    /// 8-bit products then read these instead of `base`.
    public let interleaved: UnsafeRawPointer?

    public init(type: WeightType, rowCount: Int, columnCount: Int, base: UnsafeRawPointer, interleaved: UnsafeRawPointer? = nil) {
        precondition(columnCount % type.elementsPerGroup == 0, "rows must be whole blocks of \(type.elementsPerGroup) elements")
        precondition(interleaved == nil || InterleavedWeights.canInterleave(type: type, rowCount: rowCount),
                     "only Q4_1, Q8_0 and Q5_0 matrices of whole groups of 8 rows are interleaved")
        self.type = type
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.base = base
        self.interleaved = interleaved
    }

    @inlinable public var blocksPerRow: Int { columnCount / WeightType.blockSize }
    @inlinable public var bytesPerRow: Int { columnCount / type.elementsPerGroup * type.bytesPerGroup }
    @inlinable public var byteCount: Int { rowCount * bytesPerRow }

    @inlinable public func row(_ r: Int) -> UnsafeRawPointer { base + r * bytesPerRow }

    /// Row `r` decoded to fp32 into `out` (`columnCount` floats): the embedding lookup.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let p = row(r)
        for b in 0..<blocksPerRow {
            let (group, j) = b.quotientAndRemainder(dividingBy: type.blocksPerGroup)
            let (w0, w1, w2, w3) = BlockDecode.values(type, p + group * type.bytesPerGroup, block: j)
            let o = out + b * 32
            o.storeSIMD(w0)
            (o + 8).storeSIMD(w1)
            (o + 16).storeSIMD(w2)
            (o + 24).storeSIMD(w3)
        }
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inlinable @inline(__always)
    func storeSIMD(_ v: SIMD8<Float>) {
        UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

extension UnsafePointer where Pointee == Float {
    @inlinable @inline(__always)
    func loadSIMD8(_ offset: Int = 0) -> SIMD8<Float> {
        UnsafeRawPointer(self + offset).loadUnaligned(as: SIMD8<Float>.self)
    }
}
