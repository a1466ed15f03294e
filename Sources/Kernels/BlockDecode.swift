/// Decoding one 32-element block of each weight type into four `SIMD8<Float>`, exactly
/// (`d * q + m` etc. in fp32), with the int-to-float conversions done by bit tricks: the stdlib's
/// SIMD integer-to-float conversions are not inlined.
///
/// Block layouts (ggml):
/// ```
///  Q4_0 │ d f16 │ 16 bytes: element j = low nibble of byte j, element j+16 = high nibble │ x = d·(q−8)
///  Q4_1 │ d f16 │ m f16 │ 16 bytes, nibbles as Q4_0                                      │ x = d·q + m
///  Q8_0 │ d f16 │ 32 × int8                                                              │ x = d·q
/// ```
public enum BlockDecode {
    /// `2^23 + q` as a float's bits, for q < 2^23: subtracting 2^23 gives q exactly.
    @usableFromInline static let magic = SIMD8<UInt32>(repeating: 0x4B00_0000)
    @usableFromInline static let magicFloat = SIMD8<Float>(repeating: 8_388_608)

    @inlinable @inline(__always)
    static func float(_ v: SIMD8<UInt32>) -> SIMD8<Float> {
        unsafeBitCast(v | magic, to: SIMD8<Float>.self) - magicFloat
    }

    @inlinable @inline(__always)
    public static func half(_ p: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self)))
    }

    /// The 32 unsigned nibbles of a Q4 block as floats 0...15, in element order.
    @inlinable @inline(__always)
    public static func nibbles(_ q: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a = SIMD8<UInt32>(truncatingIfNeeded: q.loadUnaligned(as: SIMD8<UInt8>.self))
        let b = SIMD8<UInt32>(truncatingIfNeeded: (q + 8).loadUnaligned(as: SIMD8<UInt8>.self))
        let lowMask = SIMD8<UInt32>(repeating: 0xF)
        return (float(a & lowMask), float(b & lowMask), float(a &>> 4), float(b &>> 4))
    }

    /// The 32 signed bytes of a Q8_0 block as floats, in element order.
    @inlinable @inline(__always)
    public static func bytes(_ q: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        // Flip the sign bit: int8 q becomes uint8 q + 128, converted exactly, then shifted back.
        @inline(__always) func one(_ o: Int) -> SIMD8<Float> {
            let u = SIMD8<UInt32>(truncatingIfNeeded: (q + o).loadUnaligned(as: SIMD8<UInt8>.self) ^ 0x80)
            return float(u) - 128
        }
        return (one(0), one(8), one(16), one(24))
    }

    /// A whole block decoded to fp32 values.
    @inlinable @inline(__always)
    public static func values(_ type: WeightType, _ p: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        switch type {
        case .f32:
            let f = p.assumingMemoryBound(to: Float.self)
            return (f.loadSIMD8(0), f.loadSIMD8(8), f.loadSIMD8(16), f.loadSIMD8(24))
        case .f16:
            @inline(__always) func one(_ o: Int) -> SIMD8<Float> {
                SIMD8<Float>((p + 2 * o).loadUnaligned(as: SIMD8<Float16>.self))
            }
            return (one(0), one(8), one(16), one(24))
        case .bf16:
            @inline(__always) func one(_ o: Int) -> SIMD8<Float> {
                let u = SIMD8<UInt32>(truncatingIfNeeded: (p + 2 * o).loadUnaligned(as: SIMD8<UInt16>.self))
                return unsafeBitCast(u &<< 16, to: SIMD8<Float>.self)
            }
            return (one(0), one(8), one(16), one(24))
        case .q8_0:
            let d = SIMD8<Float>(repeating: half(p))
            let (a, b, c, e) = bytes(p + 2)
            return (d * a, d * b, d * c, d * e)
        case .q4_0:
            let d = SIMD8<Float>(repeating: half(p))
            let (a, b, c, e) = nibbles(p + 2)
            return (d * (a - 8), d * (b - 8), d * (c - 8), d * (e - 8))
        case .q4_1:
            let d = SIMD8<Float>(repeating: half(p))
            let m = SIMD8<Float>(repeating: half(p + 2))
            let (a, b, c, e) = nibbles(p + 4)
            return (d * a + m, d * b + m, d * c + m, d * e + m)
        }
    }
}
