/// Decoding one 32-element block of each weight type into four `SIMD8<Float>`, exactly
/// (`d * q + m` etc. in fp32), with the int-to-float conversions done by bit tricks: the stdlib's
/// SIMD integer-to-float conversions are not inlined.
///
/// Block layouts (ggml):
/// ```
///  Q4_0 │ d f16 │ 16 bytes: element j = low nibble of byte j, element j+16 = high nibble │ x = d·(q−8)
///  Q4_1 │ d f16 │ m f16 │ 16 bytes, nibbles as Q4_0                                      │ x = d·q + m
///  Q8_0 │ d f16 │ 32 × int8                                                              │ x = d·q
///  Q5_0 │ d f16 │ qh u32 │ 16 bytes: nibbles as Q4_0; bit j of qh is bit 4 of element j   │ x = d·(q−16)
///  Q5_1 │ d f16 │ m f16 │ qh u32 │ 16 bytes, as Q5_0                                      │ x = d·q + m
/// ```
/// K-quants store super-blocks of 256 elements, decoded here one 32-element block `j` at a time:
/// ```
///  Q4_K │ d f16 │ dmin f16 │ 12 bytes: 6-bit scale and min per block │ 128 bytes: blocks 2c, 2c+1 are
///       │ the low, high nibbles of bytes 32c ..< 32c+32                │ x = (d·scale)·q − dmin·min
///  Q5_K │ as Q4_K, with 32 bytes qh before the nibbles: bit j of qh[l] is bit 4 of element l of block j
///  Q6_K │ ql 128 bytes │ qh 64 bytes │ 16 × int8 scales (one per 16 elements) │ d f16 │ x = (d·scale)·(q−32)
///       │ half h = j/4, c = j%4: low 4 bits from ql[64h + 32(c&1) + l] (low nibble for c < 2, high
///       │ otherwise), high 2 bits from qh[32h + l] >> 2c
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

    /// 32 bytes as unsigned integers, in element order.
    @inlinable @inline(__always)
    static func bytes32(_ q: UnsafeRawPointer) -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        @inline(__always) func one(_ o: Int) -> SIMD8<UInt32> {
            SIMD8<UInt32>(truncatingIfNeeded: (q + o).loadUnaligned(as: SIMD8<UInt8>.self))
        }
        return (one(0), one(8), one(16), one(24))
    }

    @usableFromInline static let laneIndex = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)

    /// The 32 five-bit values of a Q5_0/Q5_1 block as floats 0...31: nibbles at `q`, fifth bits in `qh`.
    @inlinable @inline(__always)
    public static func fiveBits(_ q: UnsafeRawPointer, _ qh: UInt32) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a = SIMD8<UInt32>(truncatingIfNeeded: q.loadUnaligned(as: SIMD8<UInt8>.self))
        let b = SIMD8<UInt32>(truncatingIfNeeded: (q + 8).loadUnaligned(as: SIMD8<UInt8>.self))
        let lowMask = SIMD8<UInt32>(repeating: 0xF), one = SIMD8<UInt32>(repeating: 1)
        let h = SIMD8<UInt32>(repeating: qh)
        @inline(__always) func high(_ shift: UInt32) -> SIMD8<UInt32> {
            ((h &>> (laneIndex &+ shift)) & one) &<< 4
        }
        return (float((a & lowMask) | high(0)), float((b & lowMask) | high(8)),
                float((a &>> 4) | high(16)), float((b &>> 4) | high(24)))
    }

    /// Block `j`'s 6-bit scale and minimum from the 12 packed bytes of a Q4_K/Q5_K super-block.
    @inlinable @inline(__always)
    public static func kScaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        let b = s.assumingMemoryBound(to: UInt8.self)
        if j < 4 { return (Float(b[j] & 63), Float(b[j + 4] & 63)) }
        return (Float((b[j + 4] & 15) | ((b[j - 4] >> 6) << 4)), Float((b[j + 4] >> 4) | ((b[j] >> 6) << 4)))
    }

    /// Block `j`'s unsigned values of a Q4_K (`fifthBit` false) or Q5_K super-block `p`, as floats.
    @inlinable @inline(__always)
    public static func kNibbles(_ p: UnsafeRawPointer, _ j: Int, fifthBit: Bool) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let (a, b, c, e) = bytes32(p + (fifthBit ? 48 : 16) + 32 * (j >> 1))
        let shift = SIMD8<UInt32>(repeating: UInt32(4 * (j & 1)))
        let lowMask = SIMD8<UInt32>(repeating: 0xF)
        var v = ((a &>> shift) & lowMask, (b &>> shift) & lowMask, (c &>> shift) & lowMask, (e &>> shift) & lowMask)
        if fifthBit {
            let (h0, h1, h2, h3) = bytes32(p + 16)
            let hs = SIMD8<UInt32>(repeating: UInt32(j)), one = SIMD8<UInt32>(repeating: 1)
            v.0 |= ((h0 &>> hs) & one) &<< 4
            v.1 |= ((h1 &>> hs) & one) &<< 4
            v.2 |= ((h2 &>> hs) & one) &<< 4
            v.3 |= ((h3 &>> hs) & one) &<< 4
        }
        return (float(v.0), float(v.1), float(v.2), float(v.3))
    }

    /// Block `j`'s values `q − 32` (−32...31) of a Q6_K super-block `p`, as floats.
    @inlinable @inline(__always)
    public static func q6Values(_ p: UnsafeRawPointer, _ j: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let half = j >> 2, c = j & 3
        let (l0, l1, l2, l3) = bytes32(p + 64 * half + 32 * (c & 1))
        let (h0, h1, h2, h3) = bytes32(p + 128 + 32 * half)
        let lowShift = SIMD8<UInt32>(repeating: c >= 2 ? 4 : 0), highShift = SIMD8<UInt32>(repeating: UInt32(2 * c))
        let lowMask = SIMD8<UInt32>(repeating: 0xF), highMask = SIMD8<UInt32>(repeating: 3)
        @inline(__always) func one(_ l: SIMD8<UInt32>, _ h: SIMD8<UInt32>) -> SIMD8<Float> {
            float(((l &>> lowShift) & lowMask) | (((h &>> highShift) & highMask) &<< 4)) - 32
        }
        return (one(l0, h0), one(l1, h1), one(l2, h2), one(l3, h3))
    }

    /// Block `j`'s two int8 scales of a Q6_K super-block (elements 0..<16 and 16..<32).
    @inlinable @inline(__always)
    public static func q6Scales(_ p: UnsafeRawPointer, _ j: Int) -> (Float, Float) {
        let s = (p + 192).assumingMemoryBound(to: Int8.self)
        return (Float(s[2 * j]), Float(s[2 * j + 1]))
    }

    /// Block `block` of the group at `p` decoded to fp32 values, exactly as the format defines
    /// (each product rounded to fp32 as ggml's dequantization does).
    @inlinable @inline(__always)
    public static func values(_ type: WeightType, _ p: UnsafeRawPointer, block j: Int = 0) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
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
        case .q5_0:
            let d = SIMD8<Float>(repeating: half(p))
            let (a, b, c, e) = fiveBits(p + 6, (p + 2).loadUnaligned(as: UInt32.self).littleEndian)
            return (d * (a - 16), d * (b - 16), d * (c - 16), d * (e - 16))
        case .q5_1:
            let d = SIMD8<Float>(repeating: half(p))
            let m = SIMD8<Float>(repeating: half(p + 2))
            let (a, b, c, e) = fiveBits(p + 8, (p + 4).loadUnaligned(as: UInt32.self).littleEndian)
            return (d * a + m, d * b + m, d * c + m, d * e + m)
        case .q4_K, .q5_K:
            let (sc, mn) = kScaleMin(p + 4, j)
            let ds = SIMD8<Float>(repeating: half(p) * sc), dm = SIMD8<Float>(repeating: half(p + 2) * mn)
            let (a, b, c, e) = kNibbles(p, j, fifthBit: type == .q5_K)
            return (ds * a - dm, ds * b - dm, ds * c - dm, ds * e - dm)
        case .q6_K:
            let d = half(p + 208)
            let (s0, s1) = q6Scales(p, j)
            let d0 = SIMD8<Float>(repeating: d * s0), d1 = SIMD8<Float>(repeating: d * s1)
            let (a, b, c, e) = q6Values(p, j)
            return (d0 * a, d0 * b, d1 * c, d1 * e)
        }
    }
}
