import GGUF

/// Naive encoders and decoders for the weight types PagedFlex supports, written from the ggml
/// block definitions (as `shared/reference/gemma3/README.md` spells them for Q5_0, Q4_K and Q6_K)
/// and independent of the Kernels target, so tests compare two implementations. The encoders are
/// simple round-to-nearest quantizers: good enough for test weights, not llama.cpp's.
public enum Quantize {
    /// `values` encoded as `type` (rows must be whole blocks).
    public static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        func f16(_ x: Float) { withUnsafeBytes(of: Float16(x).bitPattern.littleEndian) { out += $0 } }
        // Q5_0/Q5_1 after the header: qh (bit j = bit 4 of element j), then nibbles as Q4_0.
        func fiveBits(_ q: [UInt32]) {
            let qh = q.enumerated().reduce(UInt32(0)) { $0 | (($1.element >> 4) & 1) << UInt32($1.offset) }
            withUnsafeBytes(of: qh.littleEndian) { out += $0 }
            for j in 0..<16 { out.append(UInt8(q[j] & 15) | UInt8(q[j + 16] & 15) << 4) }
        }
        switch type {
        case .f32:
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        case .f16:
            values.forEach(f16)
        case .bf16:
            // Round to nearest even on the upper 16 bits.
            for v in values {
                let bits = v.bitPattern
                let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
                withUnsafeBytes(of: UInt16(rounded).littleEndian) { out += $0 }
            }
        case .q8_0:
            for block in stride(from: 0, to: values.count, by: 32) {
                let xs = values[block..<block + 32]
                let amax = xs.map(abs).max() ?? 0
                let d = Float(Float16(amax / 127))
                f16(d)
                for x in xs { out.append(UInt8(bitPattern: Int8(d == 0 ? 0 : (x / d).rounded()))) }
            }
        case .q4_0:
            for block in stride(from: 0, to: values.count, by: 32) {
                let xs = Array(values[block..<block + 32])
                let maxAbs = xs.max { abs($0) < abs($1) } ?? 0
                let d = Float(Float16(maxAbs / -8))
                f16(d)
                let q = xs.map { d == 0 ? 8 : UInt8(min(15, max(0, ($0 / d + 8.5).rounded(.down)))) }
                for j in 0..<16 { out.append(q[j] | (q[j + 16] << 4)) }
            }
        case .q4_1:
            for block in stride(from: 0, to: values.count, by: 32) {
                let xs = Array(values[block..<block + 32])
                let lo = xs.min() ?? 0, hi = xs.max() ?? 0
                let d = Float(Float16((hi - lo) / 15))
                let m = Float(Float16(lo))
                f16(d)
                f16(m)
                let q = xs.map { d == 0 ? 0 : UInt8(min(15, max(0, (($0 - m) / d).rounded()))) }
                for j in 0..<16 { out.append(q[j] | (q[j + 16] << 4)) }
            }
        case .q5_0:
            for block in stride(from: 0, to: values.count, by: 32) {
                let xs = Array(values[block..<block + 32])
                let maxAbs = xs.max { abs($0) < abs($1) } ?? 0
                let d = Float(Float16(maxAbs / -16))
                f16(d)
                let q = xs.map { d == 0 ? 16 : UInt32(min(31, max(0, ($0 / d + 16.5).rounded(.down)))) }
                fiveBits(q)
            }
        case .q5_1:
            for block in stride(from: 0, to: values.count, by: 32) {
                let xs = Array(values[block..<block + 32])
                let lo = xs.min() ?? 0, hi = xs.max() ?? 0
                let d = Float(Float16((hi - lo) / 31))
                let m = Float(Float16(lo))
                f16(d)
                f16(m)
                fiveBits(xs.map { d == 0 ? 0 : UInt32(min(31, max(0, (($0 - m) / d).rounded()))) })
            }
        case .q4_K, .q5_K:
            let top: Float = type == .q4_K ? 15 : 31
            for superBlock in stride(from: 0, to: values.count, by: 256) {
                let xs = Array(values[superBlock..<superBlock + 256])
                // Per block of 32: x ≈ scale·q − min with q in 0...top.
                let blocks = (0..<8).map { Array(xs[32 * $0..<32 * $0 + 32]) }
                let mins = blocks.map { -min(0, $0.min()!) }
                let scales = zip(blocks, mins).map { ($0.max()! + $1) / top }
                let d = Float(Float16(scales.max()! / 63)), dmin = Float(Float16(mins.max()! / 63))
                let sc = scales.map { d == 0 ? UInt8(0) : UInt8(min(63, ($0 / d).rounded())) }
                let mn = mins.map { dmin == 0 ? UInt8(0) : UInt8(min(63, ($0 / dmin).rounded())) }
                f16(d)
                f16(dmin)
                var packed = [UInt8](repeating: 0, count: 12)
                for j in 0..<8 {
                    if j < 4 {
                        packed[j] |= sc[j]
                        packed[j + 4] |= mn[j]
                    } else {
                        packed[j + 4] = (sc[j] & 15) | ((mn[j] & 15) << 4)
                        packed[j - 4] |= (sc[j] >> 4) << 6
                        packed[j] |= (mn[j] >> 4) << 6
                    }
                }
                out += packed
                let q: [[UInt8]] = (0..<8).map { j in
                    let s = d * Float(sc[j]), m = dmin * Float(mn[j])
                    return blocks[j].map { s == 0 ? 0 : UInt8(min(top, max(0, (($0 + m) / s).rounded()))) }
                }
                if type == .q5_K {
                    var qh = [UInt8](repeating: 0, count: 32)
                    for j in 0..<8 { for l in 0..<32 { qh[l] |= ((q[j][l] >> 4) & 1) << j } }
                    out += qh
                }
                for c in 0..<4 { for l in 0..<32 { out.append((q[2 * c][l] & 15) | ((q[2 * c + 1][l] & 15) << 4)) } }
            }
        case .q6_K:
            for superBlock in stride(from: 0, to: values.count, by: 256) {
                let xs = Array(values[superBlock..<superBlock + 256])
                let scales = (0..<16).map { g in (xs[16 * g..<16 * g + 16].map(abs).max() ?? 0) / 31 }
                let d = Float(Float16(scales.max()! / 127))
                let sc = scales.map { d == 0 ? Int8(0) : Int8(min(127, ($0 / d).rounded())) }
                let q = (0..<256).map { e -> UInt8 in
                    let s = d * Float(sc[e / 16])
                    return s == 0 ? 32 : UInt8(min(63, max(0, (xs[e] / s).rounded() + 32)))
                }
                var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
                for h in 0..<2 {
                    for l in 0..<32 {
                        let v = (0..<4).map { q[128 * h + 32 * $0 + l] }
                        ql[64 * h + l] = (v[0] & 15) | ((v[2] & 15) << 4)
                        ql[64 * h + l + 32] = (v[1] & 15) | ((v[3] & 15) << 4)
                        qh[32 * h + l] = (v[0] >> 4) | ((v[1] >> 4) << 2) | ((v[2] >> 4) << 4) | ((v[3] >> 4) << 6)
                    }
                }
                out += ql
                out += qh
                out += sc.map { UInt8(bitPattern: $0) }
                f16(d)
            }
        default:
            preconditionFailure("Quantize.encode: \(type.name) is not a supported type")
        }
        return out
    }

    /// `bytes` of `count` elements of `type` decoded to Float, as the reference does it.
    public static func decode(_ bytes: UnsafeRawBufferPointer, count: Int, type: GGMLType) -> [Float] {
        func f16(_ at: Int) -> Float { Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        var out: [Float] = []
        out.reserveCapacity(count)
        switch type {
        case .f32:
            for i in 0..<count { out.append(bytes.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)) }
        case .f16:
            for i in 0..<count { out.append(f16(2 * i)) }
        case .bf16:
            for i in 0..<count {
                out.append(Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16))
            }
        case .q8_0:
            for b in 0..<count / 32 {
                let base = b * 34
                let d = f16(base)
                for j in 0..<32 { out.append(d * Float(Int8(bitPattern: bytes[base + 2 + j]))) }
            }
        case .q4_0, .q4_1:
            let blockBytes = type == .q4_0 ? 18 : 20
            let qs = type == .q4_0 ? 2 : 4
            for b in 0..<count / 32 {
                let base = b * blockBytes
                let d = f16(base)
                let m = type == .q4_1 ? f16(base + 2) : 0
                var block = [Float](repeating: 0, count: 32)
                for j in 0..<16 {
                    let byte = bytes[base + qs + j]
                    let lo = Float(byte & 0xF), hi = Float(byte >> 4)
                    block[j] = type == .q4_0 ? d * (lo - 8) : d * lo + m
                    block[j + 16] = type == .q4_0 ? d * (hi - 8) : d * hi + m
                }
                out += block
            }
        case .q5_0, .q5_1:
            // d f16 [m f16] qh u32 qs[16]; value j is (qs[j] & 15) | ((qh >> j) & 1) << 4, value j+16
            // is (qs[j] >> 4) | ((qh >> (j+16)) & 1) << 4; Q5_0: x = d·(v − 16), Q5_1: x = d·v + m.
            let q51 = type == .q5_1
            let blockBytes = q51 ? 24 : 22
            for b in 0..<count / 32 {
                let base = b * blockBytes
                let d = f16(base)
                let m = q51 ? f16(base + 2) : 0
                let qh = bytes.loadUnaligned(fromByteOffset: base + (q51 ? 4 : 2), as: UInt32.self).littleEndian
                let qs = base + (q51 ? 8 : 6)
                var block = [Float](repeating: 0, count: 32)
                for j in 0..<16 {
                    let lo = Int(bytes[qs + j] & 15) | Int((qh >> UInt32(j)) & 1) << 4
                    let hi = Int(bytes[qs + j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                    block[j] = q51 ? d * Float(lo) + m : d * Float(lo - 16)
                    block[j + 16] = q51 ? d * Float(hi) + m : d * Float(hi - 16)
                }
                out += block
            }
        case .q4_K, .q5_K:
            // d f16, dmin f16, 12 bytes of scales/mins, [qh 32 bytes (Q5_K)], qs 128 bytes. Block s:
            // s < 4: scale b[s] & 63, min b[s+4] & 63; s ≥ 4: scale (b[s+4] & 15) | (b[s-4] >> 6) << 4,
            // min (b[s+4] >> 4) | (b[s] >> 6) << 4. Blocks 2c, 2c+1: low, high nibbles of qs[32c...];
            // Q5_K adds bit s of qh[l] as bit 4. x = (d·scale)·q − (dmin·min).
            let q5 = type == .q5_K
            let superBytes = q5 ? 176 : 144
            for sb in 0..<count / 256 {
                let base = sb * superBytes
                let d = f16(base), dmin = f16(base + 2)
                let s = (0..<12).map { bytes[base + 4 + $0] }
                let qs = base + (q5 ? 48 : 16)
                for blk in 0..<8 {
                    let scale = blk < 4 ? s[blk] & 63 : (s[blk + 4] & 15) | (s[blk - 4] >> 6) << 4
                    let mn = blk < 4 ? s[blk + 4] & 63 : (s[blk + 4] >> 4) | (s[blk] >> 6) << 4
                    let ds = d * Float(scale), dm = dmin * Float(mn)
                    for l in 0..<32 {
                        let byte = bytes[qs + 32 * (blk / 2) + l]
                        var q = Int(blk % 2 == 0 ? byte & 15 : byte >> 4)
                        if q5 { q |= Int((bytes[base + 16 + l] >> UInt8(blk)) & 1) << 4 }
                        out.append(ds * Float(q) - dm)
                    }
                }
            }
        case .q6_K:
            // ql[128], qh[64], int8 scales[16], d f16. Half h (128 values), L = ql[64h...], H = qh[32h...]:
            // v[l] = (L[l] & 15) | (H[l] & 3) << 4, v[l+32] = (L[l+32] & 15) | ((H[l] >> 2) & 3) << 4,
            // v[l+64] = (L[l] >> 4) | ((H[l] >> 4) & 3) << 4, v[l+96] = (L[l+32] >> 4) | ((H[l] >> 6) & 3) << 4;
            // x = (d·scales[e / 16])·(v − 32).
            for sb in 0..<count / 256 {
                let base = sb * 210
                let d = f16(base + 208)
                var v = [Int](repeating: 0, count: 256)
                for h in 0..<2 {
                    let L = base + 64 * h, H = base + 128 + 32 * h
                    for l in 0..<32 {
                        v[128 * h + l] = Int(bytes[L + l] & 15) | Int(bytes[H + l] & 3) << 4
                        v[128 * h + l + 32] = Int(bytes[L + l + 32] & 15) | Int((bytes[H + l] >> 2) & 3) << 4
                        v[128 * h + l + 64] = Int(bytes[L + l] >> 4) | Int((bytes[H + l] >> 4) & 3) << 4
                        v[128 * h + l + 96] = Int(bytes[L + l + 32] >> 4) | Int((bytes[H + l] >> 6) & 3) << 4
                    }
                }
                for e in 0..<256 {
                    let scale = Float(Int8(bitPattern: bytes[base + 192 + e / 16]))
                    out.append((d * scale) * Float(v[e] - 32))
                }
            }
        default:
            preconditionFailure("Quantize.decode: \(type.name) is not a supported type")
        }
        return out
    }
}
