import GGUF
import Kernels
import Testing
import TestSupport

/// Every weight type's matmul against a naive dequantize-then-dot reference (TestSupport's
/// decoder, written independently), for decode (1 token) and prefill (many tokens) shapes, and
/// the batch-invariance promise: a token's outputs are bitwise the same whatever the batch.
struct MatmulTests {
    static let types: [(WeightType, GGMLType)] = [
        (.f32, .f32), (.f16, .f16), (.bf16, .bf16), (.q8_0, .q8_0), (.q4_0, .q4_0), (.q4_1, .q4_1),
    ]

    @Test(arguments: [0, 1, 2, 3, 4, 5], [1, 3, 4, 7, 70])
    func matchesNaiveReference(typeIndex: Int, tokenCount: Int) {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: UInt64(typeIndex * 100 + tokenCount))
        let rows = 13, columns = 96
        let weights = (0..<rows * columns).map { _ in rng.nextFloat(in: -1...1) }
        let encoded = Quantize.encode(weights, as: ggml)
        let decoded = encoded.withUnsafeBytes { Quantize.decode($0, count: rows * columns, type: ggml) }
        let x = (0..<tokenCount * columns).map { _ in rng.nextFloat(in: -2...2) }
        var y = [Float](repeating: .nan, count: tokenCount * rows)
        encoded.withUnsafeBytes { raw in
            let w = WeightMatrix(type: type, rowCount: rows, columnCount: columns, base: raw.baseAddress!)
            Matmul.multiply(w, x: x, tokenCount: tokenCount, y: &y)
        }
        for t in 0..<tokenCount {
            for r in 0..<rows {
                var expected = 0.0
                for k in 0..<columns { expected += Double(decoded[r * columns + k]) * Double(x[t * columns + k]) }
                #expect(abs(Double(y[t * rows + r]) - expected) <= 1e-4 * max(1, abs(expected)), "\(type) t\(t) r\(r)")
            }
        }
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5])
    func outputsDoNotDependOnTheBatch(typeIndex: Int) {
        let (type, ggml) = Self.types[typeIndex]
        var rng = SeededRandom(seed: 42)
        let rows = 37, columns = 64, tokens = 11
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
            let values = (0..<3 * 64).map { _ in rng.nextFloat(in: -4...4) }
            let encoded = Quantize.encode(values, as: ggml)
            let decoded = encoded.withUnsafeBytes { Quantize.decode($0, count: values.count, type: ggml) }
            encoded.withUnsafeBytes { raw in
                let w = WeightMatrix(type: type, rowCount: 3, columnCount: 64, base: raw.baseAddress!)
                var row = [Float](repeating: 0, count: 64)
                w.dequantizeRow(2, into: &row)
                #expect(row == Array(decoded[128..<192]), "\(type)")
            }
        }
    }
}
