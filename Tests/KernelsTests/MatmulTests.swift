import CKernels
import GGUF
@testable import Kernels
import Testing
import TestSupport

/// Every weight type's matmul against a naive dequantize-then-dot reference (TestSupport's
/// decoder, written independently), for decode (1 token) and prefill (many tokens) shapes, and
/// the batch-invariance promise: a token's outputs are bitwise the same whatever the batch. Both
/// kernel paths (the C AVX2 one where the CPU has it, and the portable Swift one) are checked.
struct MatmulTests {
    static let types: [(WeightType, GGMLType)] = [
        (.f32, .f32), (.f16, .f16), (.bf16, .bf16), (.q8_0, .q8_0), (.q4_0, .q4_0), (.q4_1, .q4_1),
        (.q5_0, .q5_0), (.q5_1, .q5_1), (.q4_K, .q4_K), (.q5_K, .q5_K), (.q6_K, .q6_K),
    ]
    /// The kernel paths this CPU can run.
    static let paths: [Bool] = KernelPath.avx2.isAvailable ? [true, false] : [false]

    /// Row `row` of `w` against `x[offset ..< offset + columns]` in double precision, and Σ|w·x|
    /// (the scale of the rounding error an fp32 sum can make).
    static func naiveDot(_ w: [Float], row: Int, _ x: [Float], offset: Int, columns: Int) -> (Double, Double) {
        var sum = 0.0, magnitude = 0.0
        for k in 0..<columns {
            let p = Double(w[row * columns + k]) * Double(x[offset + k])
            sum += p
            magnitude += abs(p)
        }
        return (sum, magnitude)
    }

    /// Columns for a test row: K-quant rows are whole 256-element super-blocks.
    static func columns(_ type: WeightType, _ plain: Int) -> Int { type.blocksPerGroup > 1 ? 512 : plain }

    @Test(arguments: Array(types.indices), [1, 3, 4, 7, 70])
    func matchesNaiveReference(typeIndex: Int, tokenCount: Int) {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: UInt64(typeIndex * 100 + tokenCount))
        let rows = 13, columns = Self.columns(type, 96)
        let weights = (0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }
        let encoded = Quantize.encode(weights, as: ggml)
        let decoded = encoded.withUnsafeBytes { Quantize.decode($0, count: rows * columns, type: ggml) }
        let x = (0..<tokenCount * columns).map { _ in rng.nextFloat(in: -2...2) }
        for avx2 in Self.paths {
            var y = [Float](repeating: .nan, count: tokenCount * rows)
            encoded.withUnsafeBytes { raw in
                let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
                x.withUnsafeBufferPointer { x in
                    Matmul.multiply(w, x: x.baseAddress!, tokenCount: tokenCount, y: &y, yStride: nil, pool: .shared, avx2: avx2)
                }
            }
            for t in 0..<tokenCount {
                for r in 0..<rows {
                    let (expected, magnitude) = Self.naiveDot(decoded, row: r, x, offset: t * columns, columns: columns)
                    #expect(abs(Double(y[t * rows + r]) - expected) <= 1e-5 * max(1, magnitude), "\(type) avx2 \(avx2) t\(t) r\(r)")
                }
            }
        }
    }

    /// Shapes (rows, plain columns, tokens) for the paths' comparison: the C kernel's prefill
    /// decodes rows once per 64 tokens, two at a time, for rows of up to 128 blocks; a lone last
    /// row, a short last block of tokens, and wider rows (the row-by-row fallback) are covered.
    static let pathShapes = [(9, 160, 6), (3, 96, 67), (1, 64, 4), (2, 4128, 5)]

    /// The C and Swift kernels compute the same operations in the same order: the same bits.
    @Test(.enabled(if: KernelPath.avx2.isAvailable, "this CPU has no AVX2: only the portable path runs"),
          arguments: Array(types.indices), Array(pathShapes.indices))
    func pathsAgreeBitForBit(typeIndex: Int, shapeIndex: Int) throws {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: UInt64(typeIndex))
        let (rows, plainColumns, tokens) = Self.pathShapes[shapeIndex]
        let columns = plainColumns > 4096 ? (type.blocksPerGroup > 1 ? 4352 : plainColumns) : Self.columns(type, plainColumns)
        let encoded = Quantize.encode((0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }, as: ggml)
        let x = (0..<tokens * columns).map { _ in rng.nextFloat(in: -2...2) }
        var results: [[Float]] = []
        for avx2 in [true, false] {
            var y = [Float](repeating: .nan, count: tokens * rows)
            encoded.withUnsafeBytes { raw in
                let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
                x.withUnsafeBufferPointer { x in
                    Matmul.multiply(w, x: x.baseAddress!, tokenCount: tokens, y: &y, yStride: nil, pool: .shared, avx2: avx2)
                }
            }
            results.append(y)
        }
        #expect(results[0] == results[1], "\(type) \(rows)×\(columns), \(tokens) tokens")
    }

    @Test(arguments: Array(types.indices))
    func outputsDoNotDependOnTheBatch(typeIndex: Int) {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: 42)
        let rows = 37, columns = Self.columns(type, 64), tokens = 11
        let encoded = Quantize.encode((0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }, as: ggml)
        let x = (0..<tokens * columns).map { _ in rng.nextFloat(in: -3...3) }
        encoded.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
            var all = [Float](repeating: 0, count: tokens * rows)
            Matmul.multiply(w, x: x, tokenCount: tokens, y: &all)
            for t in 0..<tokens {
                var one = [Float](repeating: 0, count: rows)
                Array(x[t * columns..<(t + 1) * columns]).withUnsafeBufferPointer {
                    Matmul.multiply(w, x: $0.baseAddress!, tokenCount: 1, y: &one)
                }
                #expect(one == Array(all[t * rows..<(t + 1) * rows]), "\(type) token \(t)")
            }
        }
    }

    @Test func dequantizedRowsMatchTheReferenceDecoder() {
        var rng = SeededRandom(seed: 9)
        for (type, ggml) in Self.types {
            let n = Self.columns(type, 64)
            let values = (0..<3 * n).map { _ in rng.nextFloat(in: -4...4) }
            let encoded = Quantize.encode(values, as: ggml)
            let decoded = encoded.withUnsafeBytes { Quantize.decode($0, count: values.count, type: ggml) }
            encoded.withUnsafeBytes { raw in
                let w = WeightMatrix(type: type, rowCount: 3, columnCount: n, base: raw.baseAddress!)
                var row = [Float](repeating: 0, count: n)
                w.dequantizeRow(2, into: &row)
                #expect(row == Array(decoded[2 * n..<3 * n]), "\(type)")
            }
        }
    }

    /// Blocks of random bytes (every bit pattern of the quants, scales and minimums; only the f16
    /// headers kept finite) decode exactly as the format definitions say, and both kernel paths
    /// agree with the decoded values.
    @Test(arguments: Array(types.indices.dropFirst(3)))
    func randomBlocksDecodeExactly(typeIndex: Int) {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: UInt64(1000 + typeIndex))
        let columns = Self.columns(type, 128), rows = 4
        var bytes = (0..<rows * columns / type.elementsPerGroup * type.bytesPerGroup).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // f16 header fields at these offsets of each group: finite, modest values.
        let halves: [Int] = switch type {
        case .q8_0, .q4_0, .q5_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        default: []
        }
        for g in stride(from: 0, to: bytes.count, by: type.bytesPerGroup) {
            for h in halves {
                let v = Float16(rng.nextFloat(in: -0.05...0.05)).bitPattern
                bytes[g + h] = UInt8(v & 0xFF)
                bytes[g + h + 1] = UInt8(v >> 8)
            }
        }
        let decoded = bytes.withUnsafeBytes { Quantize.decode($0, count: rows * columns, type: ggml) }
        let x = (0..<columns).map { _ in rng.nextFloat(in: -1...1) }
        bytes.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
            for r in 0..<rows {
                var row = [Float](repeating: .nan, count: columns)
                w.dequantizeRow(r, into: &row)
                #expect(row == Array(decoded[r * columns..<(r + 1) * columns]), "\(type) row \(r)")
            }
            for avx2 in Self.paths {
                var y = [Float](repeating: .nan, count: rows)
                x.withUnsafeBufferPointer { x in
                    Matmul.multiply(w, x: x.baseAddress!, tokenCount: 1, y: &y, yStride: nil, pool: .shared, avx2: avx2)
                }
                for r in 0..<rows {
                    let (expected, magnitude) = Self.naiveDot(decoded, row: r, x, offset: 0, columns: columns)
                    #expect(abs(Double(y[r]) - expected) <= 1e-5 * max(1e-3, magnitude), "\(type) avx2 \(avx2) row \(r)")
                }
            }
        }
    }

    /// The 8-bit-activation path: each product within the error of rounding x to 8 bits, and
    /// batch-invariant.
    @Test(.enabled(if: Matmul.usesAVX2, "the 8-bit path runs on the AVX2 kernel path only"), arguments: Array(types.indices.dropFirst(3)))
    func quantizedActivationsStayClose(typeIndex: Int) throws {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: UInt64(2000 + typeIndex))
        let rows = 11, columns = Self.columns(type, 128), tokens = 5
        let encoded = Quantize.encode((0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }, as: ggml)
        let decoded = encoded.withUnsafeBytes { Quantize.decode($0, count: rows * columns, type: ggml) }
        let x = (0..<tokens * columns).map { _ in rng.nextFloat(in: -2...2) }
        try encoded.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
            try #require(Matmul.supportsQ8(w))
            let q8 = Q8Activations()
            var y = [Float](repeating: .nan, count: tokens * rows)
            x.withUnsafeBufferPointer { q8.quantize($0.baseAddress!, tokenCount: tokens, columnCount: columns) }
            Matmul.multiply(w, q8: q8, y: &y)
            for t in 0..<tokens {
                for r in 0..<rows {
                    let (expected, magnitude) = Self.naiveDot(decoded, row: r, x, offset: t * columns, columns: columns)
                    // x rounded to 8 bits: at most half a step of max|x|/127 per element.
                    #expect(abs(Double(y[t * rows + r]) - expected) <= 0.01 * magnitude, "\(type) t\(t) r\(r)")
                }
            }
            let one = Q8Activations()
            var y1 = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { one.quantize($0.baseAddress! + 3 * columns, tokenCount: 1, columnCount: columns) }
            Matmul.multiply(w, q8: one, y: &y1)
            #expect(y1 == Array(y[3 * rows..<4 * rows]), "\(type) batch invariance")
        }
    }

    /// Every VNNI form of the 8-bit kernel gives the bits of the pmaddubsw one, for decode (one and
    /// two tokens: the two-row kernel) and prefill shapes (four tokens sharing a block, and the tail).
    @Test(.enabled(if: Matmul.usesAVX2, "the 8-bit kernels run on the AVX2 kernel paths only"), arguments: Array(types.indices.dropFirst(3)))
    func vnniFormsEqualTheAVX2Kernel(typeIndex: Int) throws {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: UInt64(3000 + typeIndex))
        let rows = 13, columns = Self.columns(type, 256)
        let encoded = Quantize.encode((0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }, as: ggml)
        let vnni = KernelPath.allCases.filter { $0.q8InstructionSet != nil && $0 != .avx2 }
        try encoded.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
            try #require(Matmul.supportsQ8(w))
            for tokens in [1, 2, 5] {
                // Extreme activations too: a block of ±max makes every quant ±127.
                var x = (0..<tokens * columns).map { _ in rng.nextFloat(in: -3...3) }
                for j in 0..<32 { x[j] = j % 2 == 0 ? 5 : -5 }
                let q8 = Q8Activations()
                x.withUnsafeBufferPointer { q8.quantize($0.baseAddress!, tokenCount: tokens, columnCount: columns) }
                var expected = [Float](repeating: .nan, count: tokens * rows)
                Matmul.multiply(w, q8: q8, y: &expected, yStride: nil, pool: .shared, path: .avx2)
                #expect(!expected.contains { $0.isNaN })
                for path in vnni where path.isAvailable {
                    var y = [Float](repeating: .nan, count: tokens * rows)
                    Matmul.multiply(w, q8: q8, y: &y, yStride: nil, pool: .shared, path: path)
                    #expect(y == expected, "\(type) \(path) \(tokens) tokens")
                }
            }
        }
    }

    /// The AVX2 activation quantizer writes the bytes and scales of the portable one: ties that
    /// round to even, blocks of zeros, of ±max and of tiny values, random blocks.
    @Test(.enabled(if: Matmul.usesAVX2, "the AVX2 quantizer runs on the AVX2 kernel paths only"))
    func vectorQuantizerEqualsThePortableOne() {
        var rng = SeededRandom(seed: 77)
        var x = (0..<32 * 64).map { _ in rng.nextFloat(in: -4...4) }
        for j in 0..<32 { x[j] = 0 }
        for j in 32..<64 { x[j] = j % 2 == 0 ? 127 : -127 }
        for j in 64..<96 { x[j] = Float(j - 80) + 0.5 }  // with max|x| = 127 the scale is 1: ties at every k + ½
        x[64] = 127
        for j in 96..<128 { x[j] = rng.nextFloat(in: -1e-30...1e-30) }
        var portable = [pf_q8_block](repeating: pf_q8_block(), count: 64)
        var vector = portable
        x.withUnsafeBufferPointer { x in
            pf_quantize_q8(x.baseAddress!, 64, &portable)
            pf_quantize_q8_avx2(x.baseAddress!, 64, &vector)
        }
        for b in 0..<64 {
            let (p, v) = (portable[b], vector[b])
            #expect(p.d.bitPattern == v.d.bitPattern && p.s.bitPattern == v.s.bitPattern, "block \(b) scales")
            let same = withUnsafeBytes(of: p.q) { pq in withUnsafeBytes(of: v.q) { vq in pq.elementsEqual(vq) } }
            #expect(same, "block \(b) quants")
        }
    }
}
