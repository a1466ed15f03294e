/// The ggml tensor element types a GGUF file may declare. PagedFlex computes with eleven of them
/// (``isSupported``); the others are named so an error can say what the file holds.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22
    case iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// The types with kernels in PagedFlex.
    public var isSupported: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Elements per block (1 for plain types). Only meaningful for supported types.
    public var blockSize: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
        case .q4_K, .q5_K, .q6_K: 256
        default: 1
        }
    }

    /// Bytes per block. Only meaningful for supported types.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18  // f16 scale + 16 bytes of nibbles
        case .q4_1: 20  // f16 scale + f16 minimum + 16 bytes of nibbles
        case .q8_0: 34  // f16 scale + 32 signed bytes
        case .q5_0: 22  // f16 scale + 32 fifth bits + 16 bytes of nibbles
        case .q5_1: 24  // f16 scale + f16 minimum + 32 fifth bits + 16 bytes of nibbles
        case .q4_K: 144  // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        case .q5_K: 176  // as Q4_K + 32 bytes of fifth bits
        case .q6_K: 210  // 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, f16 d
        default: 0
        }
    }

    /// The name ggml uses (`Q4_1`, `BF16`, ...).
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .f64: "F64"
        case .i8: "I8"
        case .i16: "I16"
        case .i32: "I32"
        case .i64: "I64"
        default: String(describing: self).uppercased()
        }
    }

    /// The byte count of `elementCount` elements (a whole number of blocks).
    public func byteCount(elementCount: Int) -> Int {
        elementCount / blockSize * bytesPerBlock
    }
}
