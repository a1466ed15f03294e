import CKernels
import GGUF
@testable import Kernels
import Testing
import TestSupport

/// The 8-row interleaved Q4_1 and Q8_0 kernels of the 8-bit path: its products within the 8-bit error of
/// the float64 reference, equal to the row-by-row kernel's to rounding, and bit for bit the same
/// on every instruction set, for any batch, thread count, and whether fused or not. Its one
/// definition (see CKernels' interleaved.c) is checked against a scalar rendering of it here.
@Suite(.enabled(if: Matmul.usesAVX2, "the 8-bit kernels run on the AVX2 kernel paths only"))
struct InterleavedWeightsTests {
    static let rows = 24, columns = 160  // three groups of eight rows, five blocks

    static let types: [(WeightType, GGMLType)] = [(.q4_1, .q4_1), (.q8_0, .q8_0), (.q5_0, .q5_0)]

    struct Fixture {
        let type: WeightType
        let encoded: [UInt8]
        let decoded: [Float]
        let x: [Float]
        let tokens: Int
        init(_ types: (WeightType, GGMLType), seed: UInt64, tokens: Int) {
            var rng = SeededRandom(seed: seed)
            type = types.0
            var weights = (0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }
            weights[0] = -1  // Q8_0: a quant of -127 ...
            weights[1] = 1  // ... and one of +127 in the first block
            encoded = Quantize.encode(weights, as: types.1)
            decoded = encoded.withUnsafeBytes { Quantize.decode($0, count: rows * columns, type: types.1) }
            var x = (0..<tokens * columns).map { _ in rng.nextFloat(in: -2...2) }
            for j in 0..<32 { x[j] = j % 2 == 0 ? 4 : -4 }  // a block of ±max: every quant ±127
            self.x = x
            self.tokens = tokens
        }

        func q8(tokens range: Range<Int>? = nil) -> Q8Activations {
            let range = range ?? 0..<tokens
            let q8 = Q8Activations()
            x.withUnsafeBufferPointer {
                q8.quantize($0.baseAddress! + range.lowerBound * columns, tokenCount: range.count, columnCount: columns)
            }
            return q8
        }

        func withMatrices<R>(_ body: (_ plain: WeightMatrix, _ interleaved: WeightMatrix) throws -> R) rethrows -> R {
            try encoded.withUnsafeBytes { raw in
                let plain = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
                let copy = InterleavedWeights(plain)!
                return try withExtendedLifetime(copy) { try body(plain, copy.matrix(plain)) }
            }
        }
    }

    static func product(_ w: WeightMatrix, _ q8: Q8Activations, path: KernelPath = .avx2, pool: ThreadPool = .shared) -> [Float] {
        var y = [Float](repeating: .nan, count: q8.tokenCount * w.rowCount)
        Matmul.multiply(w, q8: q8, y: &y, yStride: nil, pool: pool, path: path)
        return y
    }

    @Test func onlyQ4_1MatricesOfWholeGroupsOfEightRowsAreInterleaved() {
        #expect(InterleavedWeights.canInterleave(type: .q4_1, rowCount: 576))
        #expect(!InterleavedWeights.canInterleave(type: .q4_1, rowCount: 12))
        #expect(InterleavedWeights.canInterleave(type: .q8_0, rowCount: 49152))
        #expect(InterleavedWeights.canInterleave(type: .q5_0, rowCount: 2048))
        #expect(!InterleavedWeights.canInterleave(type: .q6_K, rowCount: 576))
        #expect(!InterleavedWeights.canInterleave(type: .q4_1, rowCount: 0))
    }

    /// Against float64 over the decoded weights (within the 8-bit rounding of x), against the
    /// row-by-row kernel (the same sums in another order: 1e-5 of their magnitude), and against
    /// the definition evaluated here lane by lane in Float: the same bits.
    @Test(arguments: types.indices, [1, 2, 4, 5, 9])
    func productsMatchTheReferenceAndTheDefinition(typeIndex: Int, tokens: Int) throws {
        let f = Fixture(Self.types[typeIndex], seed: 77 + UInt64(tokens), tokens: tokens)
        let q8 = f.q8()
        try f.withMatrices { plain, interleaved in
            let y = Self.product(interleaved, q8), rowByRow = Self.product(plain, q8)
            let blocks = Self.columns / 32
            let x = q8.pointer
            try f.encoded.withUnsafeBytes { raw in
                for t in 0..<tokens {
                    for r in 0..<Self.rows {
                        let (expected, magnitude) = MatmulTests.naiveDot(f.decoded, row: r, f.x, offset: t * Self.columns, columns: Self.columns)
                        let got = y[t * Self.rows + r]
                        #expect(abs(Double(got) - expected) <= 0.01 * magnitude, "t\(t) r\(r)")
                        #expect(abs(got - rowByRow[t * Self.rows + r]) <= 1e-5 * Float(magnitude), "t\(t) r\(r)")
                        // acc = fma(m, s, fma(Float(Σ qw·qx)·dx, dw, acc)) per block; Q8_0's
                        // quants biased by +128 and m = −128·dw, Q5_0's unbiased (0..31), m = −16·dw.
                        var acc: Float = 0
                        for k in 0..<blocks {
                            let xb = x[t * blocks + k]
                            let blockBytes = [WeightType.q4_1: 20, .q8_0: 34, .q5_0: 22][f.type]!
                            let block = raw.baseAddress! + (r * blocks + k) * blockBytes
                            let dw = Float(block.loadUnaligned(as: Float16.self))
                            let m = switch f.type {
                            case .q4_1: Float(block.loadUnaligned(fromByteOffset: 2, as: Float16.self))
                            case .q8_0: -128 * dw
                            default: -16 * dw
                            }
                            var sum: Int32 = 0
                            try withUnsafeBytes(of: xb.q) { xq in
                                try #require(xq.count == 32)
                                func x(_ i: Int) -> Int32 { Int32(xq.load(fromByteOffset: i, as: Int8.self)) }
                                if f.type == .q4_1 {
                                    for i in 0..<16 {
                                        let byte = block.load(fromByteOffset: 4 + i, as: UInt8.self)
                                        sum += Int32(byte & 0x0F) * x(i) + Int32(byte >> 4) * x(16 + i)
                                    }
                                } else if f.type == .q8_0 {
                                    for i in 0..<32 { sum += (Int32(block.load(fromByteOffset: 2 + i, as: Int8.self)) + 128) * x(i) }
                                } else {
                                    let high = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                                    for i in 0..<32 {
                                        let byte = Int32(block.load(fromByteOffset: 6 + i % 16, as: UInt8.self))
                                        let nibble = i < 16 ? byte & 0x0F : byte >> 4
                                        sum += (nibble | Int32((high >> UInt32(i)) & 1) << 4) * x(i)
                                    }
                                }
                            }
                            acc = Self.fma(m, xb.s, Self.fma(Float(sum) * xb.d, dw, acc))
                        }
                        #expect(got.bitPattern == acc.bitPattern, "t\(t) r\(r): \(got) vs the definition's \(acc)")
                    }
                }
            }
        }
    }

    static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

    @Test(arguments: types.indices, [1, 3, 6])
    func everyInstructionSetBatchAndThreadCountGivesTheSameBits(typeIndex: Int, tokens: Int) throws {
        let f = Fixture(Self.types[typeIndex], seed: 91 + UInt64(tokens), tokens: tokens)
        let q8 = f.q8()
        f.withMatrices { _, interleaved in
            let expected = Self.product(interleaved, q8)
            #expect(!expected.contains { $0.isNaN })
            for path in KernelPath.allCases where path.q8InstructionSet != nil && path.isAvailable {
                #expect(Self.product(interleaved, q8, path: path) == expected, "\(path)")
            }
            #expect(Self.product(interleaved, q8, pool: ThreadPool(threadCount: 1)) == expected, "one thread")
            #expect(Self.product(interleaved, q8, pool: ThreadPool(threadCount: 3)) == expected, "three threads")
            for t in 0..<tokens {
                let alone = Self.product(interleaved, f.q8(tokens: t..<t + 1))
                #expect(alone == Array(expected[t * Self.rows..<(t + 1) * Self.rows]), "token \(t) alone")
            }
        }
    }

    /// q|k|v-style fusion: an interleaved matrix beside a plain one in one parallel loop gives
    /// each one's own product.
    @Test func fusedProductsEqualTheSeparateOnes() throws {
        let f = Fixture(Self.types[0], seed: 5, tokens: 5)
        let q8 = f.q8()
        var rng = SeededRandom(seed: 6)
        let other = Quantize.encode((0..<16 * Self.columns).map { _ in rng.nextFloat(in: -1...1) }, as: .q8_0)
        try f.withMatrices { _, interleaved in
            try other.withUnsafeBytes { raw in
                let plain = WeightMatrix(type: .q8_0, rowCount: 16, columnCount: Self.columns, base: raw.baseAddress!)
                try #require(Matmul.supportsQ8(plain))
                var a = [Float](repeating: .nan, count: 5 * Self.rows), b = [Float](repeating: .nan, count: 5 * 16)
                f.x.withUnsafeBufferPointer { x in
                    a.withUnsafeMutableBufferPointer { a in
                        b.withUnsafeMutableBufferPointer { b in
                            Matmul.multiply([MatmulTarget(interleaved, a.baseAddress!), MatmulTarget(plain, b.baseAddress!)],
                                            x: x.baseAddress!, q8: q8, tokenCount: 5)
                        }
                    }
                }
                #expect(a == Self.product(interleaved, q8, path: KernelPath.active))
                #expect(b == Self.product(plain, q8, path: KernelPath.active))
            }
        }
    }
}
