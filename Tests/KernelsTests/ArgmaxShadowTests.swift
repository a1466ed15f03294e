import CKernels
import GGUF
@testable import Kernels
import Testing
import TestSupport

/// The output matrix's 5-bit shadow (``ArgmaxShadow``): every row it keeps holds the full
/// product's bits, the argmax (first index on ties, NaN skipped) is the full product's, and it
/// keeps few rows where one logit stands out; on every instruction set, batch and thread count,
/// for fp32 and 8-bit activations, plain and interleaved matrices, and inputs that are not numbers.
@Suite(.enabled(if: Matmul.usesAVX2, "the shadow runs on the AVX2 kernel paths only"))
struct ArgmaxShadowTests {
    static let rows = 512, columns = 256

    static let types: [(WeightType, GGMLType)] = [(.q8_0, .q8_0), (.q4_K, .q4_K), (.q6_K, .q6_K), (.q4_1, .q4_1), (.f16, .f16)]

    /// Row 100 points along token 0's activations (its logit stands far out), rows 101-110 are
    /// row 100 shrunk by up to 0.2 % (near ties), rows 40 and 300 are copies of row 100 (the same
    /// bits: a tie); the others are uniform. Tokens past the first have no such row (many
    /// candidates). Two activations are outliers (±8).
    struct Fixture {
        let type: WeightType
        var encoded: [UInt8]
        let x: [Float]
        let tokens: Int

        init(_ types: (WeightType, GGMLType), seed: UInt64, tokens: Int) {
            var rng = SeededRandom(seed: seed)
            type = types.0
            self.tokens = tokens
            var x = rng.floats(tokens * columns)
            for t in 0..<tokens {
                x[t * columns + 3] = 8
                x[t * columns + 77] = -8
            }
            var w = rng.floats(rows * columns)
            for k in 0..<columns {
                let aligned: Float = x[k] > 0 ? 0.9 : -0.9
                w[100 * columns + k] = aligned
                for r in 101...110 { w[r * columns + k] = aligned * (1 - rng.nextFloat(in: 0...2e-3)) }
            }
            for r in [40, 300] { w.replaceSubrange(r * columns..<(r + 1) * columns, with: w[100 * columns..<101 * columns]) }
            encoded = Quantize.encode(w, as: types.1)
            self.x = x
        }

        func q8() -> Q8Activations {
            let q8 = Q8Activations()
            x.withUnsafeBufferPointer { q8.quantize($0.baseAddress!, tokenCount: tokens, columnCount: columns) }
            return q8
        }

        /// The matrix (its interleaved copy when `interleaved` and it has one), its shadow, and both products.
        func products(
            exactIsQ8: Bool, interleaved: Bool, path: KernelPath, pool: ThreadPool = .shared, largest: Int = 1
        ) -> (full: [Float], argmax: [Float], computed: Int) {
            encoded.withUnsafeBytes { raw in
                let plain = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
                let copy = interleaved ? InterleavedWeights(plain) : nil
                let w = copy.map { $0.matrix(plain) } ?? plain
                let shadow = ArgmaxShadow(plain)!
                let q8 = q8()
                var full = [Float](repeating: .nan, count: tokens * rows), argmax = full
                var computed = 0
                withExtendedLifetime((copy, shadow)) {
                    x.withUnsafeBufferPointer { x in
                        if exactIsQ8 {
                            Matmul.multiply(w, q8: q8, y: &full, yStride: nil, pool: pool, path: path)
                        } else {
                            Matmul.multiply(w, x: x.baseAddress!, tokenCount: tokens, y: &full, yStride: nil, pool: pool, avx2: true)
                        }
                        computed = Matmul.multiplyForLargest(
                            w, shadow: shadow, x: x.baseAddress!, q8: q8, exactIsQ8: exactIsQ8,
                            largest: [Int](repeating: largest, count: tokens), y: &argmax, pool: pool, path: path)
                    }
                }
                return (full, argmax, computed)
            }
        }
    }

    /// The sampler's greedy choice: the first largest logit, NaN skipped.
    static func argmax(_ row: ArraySlice<Float>) -> Int {
        var best = row.startIndex, value = -Float.infinity
        for i in row.indices where row[i] > value {
            best = i
            value = row[i]
        }
        return best - row.startIndex
    }

    static func check(_ p: (full: [Float], argmax: [Float], computed: Int), tokens: Int, _ label: String) {
        for t in 0..<tokens {
            let range = t * rows..<(t + 1) * rows
            #expect(argmax(p.argmax[range]) == argmax(p.full[range]), "\(label) token \(t)")
            // Every row tied with the largest logit is kept.
            let largest = p.full[range].max { $0 < $1 || $0.isNaN }
            for r in range where p.full[r] == largest {
                #expect(p.argmax[r] != -.infinity, "\(label) token \(t): row \(r - t * rows) ties the largest")
            }
            for r in range where p.argmax[r] != -.infinity || p.full[r] == -.infinity {
                #expect(p.argmax[r].bitPattern == p.full[r].bitPattern, "\(label) token \(t) row \(r - t * rows)")
            }
        }
    }

    @Test(arguments: types.indices, [1, 3, 5, 17])
    func keptRowsAreExactAndTheArgmaxIsTheFullProducts(typeIndex: Int, tokens: Int) {
        let f = Fixture(Self.types[typeIndex], seed: 11 + UInt64(tokens), tokens: tokens)
        let quantized = f.type != .f16
        for exactIsQ8 in quantized ? [false, true] : [false] {
            for interleaved in exactIsQ8 ? [false, true] : [false] {
                for path in KernelPath.available where path.usesCKernels {
                    let label = "\(f.type) \(exactIsQ8 ? "q8" : "f32")\(interleaved ? " interleaved" : "") \(path)"
                    let p = f.products(exactIsQ8: exactIsQ8, interleaved: interleaved, path: path)
                    Self.check(p, tokens: tokens, label)
                    // Token 0's best rows stand out: most of the uniform rows are not computed.
                    // Q8_0 cannot round a shrunk row above row 100, so its copy 40 wins the tie.
                    if f.type == .q8_0 { #expect(Self.argmax(p.argmax[0..<Self.rows]) == 40, "\(label)") }
                    let kept = p.argmax[0..<Self.rows].filter { $0 != -.infinity }.count
                    #expect(kept >= 1 && kept <= Self.rows / 4, "\(label): token 0 kept \(kept) rows")
                    #expect(p.computed >= tokens && p.computed <= tokens * Self.rows, "\(label)")
                }
            }
        }
    }

    /// The k largest logits (top-k sampling): every row among the full product's k largest (and
    /// tied with the k-th) is kept with its bits, so the sampler's top-k set is the same.
    @Test(arguments: [0, 3], [2, 5, 40])
    func theKLargestAreKept(typeIndex: Int, k: Int) {
        let tokens = 5
        let f = Fixture(Self.types[typeIndex], seed: 31 + UInt64(k), tokens: tokens)
        for exactIsQ8 in [false, true] {
            let p = f.products(exactIsQ8: exactIsQ8, interleaved: exactIsQ8, path: KernelPath.active, largest: k)
            Self.check(p, tokens: tokens, "k \(k) q8 \(exactIsQ8)")
            for t in 0..<tokens {
                let range = t * Self.rows..<(t + 1) * Self.rows
                let kth = p.full[range].sorted(by: >)[k - 1]
                for r in range where p.full[r] >= kth {
                    #expect(p.argmax[r].bitPattern == p.full[r].bitPattern, "k \(k) q8 \(exactIsQ8) token \(t) row \(r - t * Self.rows)")
                }
                let kept = p.argmax[range].filter { $0 != -.infinity }.count
                #expect(kept >= k, "k \(k) q8 \(exactIsQ8) token \(t): \(kept) kept")
            }
            let kept0 = p.argmax[0..<Self.rows].filter { $0 != -.infinity }.count
            #expect(k == 40 || kept0 <= Self.rows / 4, "k \(k) q8 \(exactIsQ8): token 0 kept \(kept0)")
        }
    }

    @Test func largestRowsAreTheKLargestTiesToTheLowerIndex() {
        let values: [Float] = [3, .nan, 7, 7, -1, 7, 2, .nan, 5]
        var heap: [(value: Float, index: Int)] = []
        values.withUnsafeBufferPointer { v in
            func indices(_ k: Int) -> Set<Int> {
                Elementwise.largest(v.baseAddress!, count: v.count, k: k, into: &heap)
                return Set(heap.map(\.index))
            }
            #expect(indices(2) == [2, 3])
            #expect(indices(4) == [2, 3, 5, 8])
            #expect(indices(8).count == 7, "only 7 are numbers")
            #expect(indices(0).isEmpty)
        }
    }

    @Test(arguments: [1, 6])
    func everyThreadCountGivesTheSameRows(tokens: Int) {
        let f = Fixture(Self.types[0], seed: 5, tokens: tokens)
        for exactIsQ8 in [false, true] {
            let expected = f.products(exactIsQ8: exactIsQ8, interleaved: exactIsQ8, path: KernelPath.active).argmax
            for threads in [1, 3] {
                let p = f.products(exactIsQ8: exactIsQ8, interleaved: exactIsQ8, path: KernelPath.active, pool: ThreadPool(threadCount: threads))
                #expect(p.argmax.map(\.bitPattern) == expected.map(\.bitPattern), "\(threads) threads, q8 \(exactIsQ8)")
            }
        }
    }

    /// A NaN activation (its token's fp32 logits are all NaN: every row is computed; the 8-bit
    /// rounding of x makes it a number) and a row whose scale is NaN (its bound is infinite: always
    /// kept, and skipped by the argmax as in full).
    @Test func valuesThatAreNotNumbersKeepTheirRows() {
        let base = Fixture(Self.types[0], seed: 21, tokens: 3)
        var x = base.x
        x[1 * Self.columns + 5] = .nan
        var f = Fixture(copying: base, x: x)
        f.encoded.withUnsafeMutableBytes { $0.storeBytes(of: Float16.nan.bitPattern, toByteOffset: 7 * 8 * 34, as: UInt16.self) }
        for exactIsQ8 in [false, true] {
            let p = f.products(exactIsQ8: exactIsQ8, interleaved: exactIsQ8, path: KernelPath.active)
            Self.check(p, tokens: 3, "q8 \(exactIsQ8)")
            if !exactIsQ8 { #expect(!p.argmax[Self.rows..<2 * Self.rows].contains(-.infinity), "token 1's rows are all computed") }
            #expect(p.argmax[7].isNaN, "the NaN row is kept (q8 \(exactIsQ8))")
        }
    }

    /// The stored error norm bounds the block's true error (decoding the Q5_0 block it wrote),
    /// for ordinary, zero, tiny, huge and non-finite values.
    @Test func errorNormsAreUpperBounds() {
        var rng = SeededRandom(seed: 3)
        let blocks: [[Float]] = [
            rng.floats(32), [Float](repeating: 0, count: 32), rng.floats(32, in: -1e-6...1e-6), rng.floats(32, in: -1e6...1e6),
            rng.floats(32, in: -70_000...70_000), [1] + [Float](repeating: 1e-3, count: 31),
            [.nan] + rng.floats(31), [.infinity] + rng.floats(31),
        ]
        for (i, v) in blocks.enumerated() {
            var bytes = [UInt8](repeating: 0, count: 22)
            var errors = 0.0, values = 0.0
            v.withUnsafeBufferPointer { v in
                bytes.withUnsafeMutableBytes { ArgmaxShadow.encodeQ5(v.baseAddress!, into: $0.baseAddress!, errorSquares: &errors, shadowSquares: &values) }
            }
            let decoded = bytes.withUnsafeBytes { Quantize.decode($0, count: 32, type: .q5_0) }
            var trueErrors = 0.0, trueValues = 0.0
            for j in 0..<32 {
                trueErrors += (Double(v[j]) - Double(decoded[j])) * (Double(v[j]) - Double(decoded[j]))
                trueValues += Double(decoded[j]) * Double(decoded[j])
            }
            let error = ArgmaxShadow.roundedUp(errors.squareRoot()), value = ArgmaxShadow.roundedUp(values.squareRoot())
            if v.allSatisfy(\.isFinite) && trueErrors.isFinite {
                #expect(Double(error) >= trueErrors.squareRoot(), "block \(i)")
                #expect(Double(value) >= trueValues.squareRoot(), "block \(i)")
            } else {
                #expect(error == .infinity, "block \(i)")
            }
        }
    }
}

extension ArgmaxShadowTests.Fixture {
    /// `other` with other activations.
    init(copying other: Self, x: [Float]) {
        self.type = other.type
        self.encoded = other.encoded
        self.x = x
        self.tokens = other.tokens
    }
}
