/// The weight encodings the matmul kernels read directly (no fp32 copy of the model is kept).
public enum WeightType: String, Sendable, Hashable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_1

    /// Elements per block: 32 for the quantized types, and 32 for the plain types too so every
    /// kernel walks rows in the same 32-element steps.
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
        }
    }

    /// Bytes of one 32-element block.
    @inlinable public var bytesPerBlock: Int {
        switch self {
        case .f32: 128
        case .f16, .bf16: 64
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        }
    }
}

/// A row-major matrix of `rowCount` rows of `columnCount` weights, stored in `type`, viewed in
/// place (typically inside a memory-mapped model file). `y = W x` reads row `r` for `y[r]`.
///
/// Rows must be whole blocks (`columnCount % 32 == 0`).
public struct WeightMatrix: @unchecked Sendable {
    // @unchecked: a read-only view; the owner (the model) keeps the memory alive and never
    // writes it.
    public let type: WeightType
    public let rowCount: Int
    public let columnCount: Int
    public let base: UnsafeRawPointer

    public init(type: WeightType, rowCount: Int, columnCount: Int, base: UnsafeRawPointer) {
        precondition(columnCount % WeightType.blockSize == 0, "rows must be whole 32-element blocks")
        self.type = type
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.base = base
    }

    @inlinable public var blocksPerRow: Int { columnCount / WeightType.blockSize }
    @inlinable public var bytesPerRow: Int { blocksPerRow * type.bytesPerBlock }
    @inlinable public var byteCount: Int { rowCount * bytesPerRow }

    @inlinable public func row(_ r: Int) -> UnsafeRawPointer { base + r * bytesPerRow }

    /// Row `r` decoded to fp32 into `out` (`columnCount` floats): the embedding lookup.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let p = row(r)
        for b in 0..<blocksPerRow {
            let (w0, w1, w2, w3) = BlockDecode.values(type, p + b * type.bytesPerBlock)
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
