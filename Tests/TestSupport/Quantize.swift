import GGUF

/// Naive encoders and decoders for the weight types PagedFlex supports, written from the ggml
/// block definitions and independent of the Kernels target, so tests compare two implementations.
public enum Quantize {
    /// `values` encoded as `type` (rows must be whole blocks).
    public static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        func f16(_ x: Float) { withUnsafeBytes(of: Float16(x).bitPattern.littleEndian) { out += $0 } }
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
        default:
            preconditionFailure("Quantize.decode: \(type.name) is not a supported type")
        }
        return out
    }
}
