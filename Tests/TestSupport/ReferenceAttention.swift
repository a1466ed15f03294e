import Foundation
import FlexAttention

/// The naive attention the kernel is checked against: the full score matrix of each query row
/// in `Double`, masked, plain (not online) softmax, weighted sum of values. No tiles, no pages,
/// no chunks: the definition, written independently of the kernel's arithmetic.
public enum ReferenceAttention {
    /// One sequence in logical order: its keys and values are `[position][kvHead][headSize]`
    /// (the order a model produces them), positions `0 ..< kvLength`.
    public struct Sequence: Sendable {
        public var queryRows: Range<Int>
        public var kvLength: Int
        public var keys: [Float]
        public var values: [Float]

        public init(queryRows: Range<Int>, kvLength: Int, keys: [Float], values: [Float]) {
            self.queryRows = queryRows
            self.kvLength = kvLength
            self.keys = keys
            self.values = values
        }
    }

    /// The output `[tokenCount][queryHeadCount][headSize]` of `queries` (same shape) attending
    /// within each sequence. A row with no visible key is all zeros.
    public static func attend<Mask: MaskMod, Score: ScoreMod>(
        queries: [Float], sequences: [Sequence], shape: AttentionShape, mask: Mask, scoreMod: Score
    ) -> [Float] {
        let headSize = shape.headSize, kvRowStride = shape.kvHeadCount * headSize
        var output = [Float](repeating: 0, count: queries.count)
        for (b, sequence) in sequences.enumerated() {
            let firstPosition = sequence.kvLength - sequence.queryRows.count
            for (i, packedRow) in sequence.queryRows.enumerated() {
                let position = firstPosition + i
                for head in 0..<shape.queryHeadCount {
                    let kvHead = head / shape.groupSize
                    let query = packedRow * shape.queryRowStride + head * headSize
                    var scores = [Double?](repeating: nil, count: sequence.kvLength)
                    for key in 0..<sequence.kvLength where mask(b, head, position, key) {
                        var dot = 0.0
                        for d in 0..<headSize {
                            dot += Double(queries[query + d]) * Double(sequence.keys[key * kvRowStride + kvHead * headSize + d])
                        }
                        scores[key] = Double(scoreMod(Float(dot * Double(shape.scale)), b, head, position, key))
                    }
                    let visible = scores.compactMap { $0 }
                    guard let maximum = visible.max() else { continue }
                    let total = visible.reduce(0) { $0 + exp($1 - maximum) }
                    for d in 0..<headSize {
                        var sum = 0.0
                        for key in 0..<sequence.kvLength {
                            if let score = scores[key] {
                                sum += exp(score - maximum) * Double(sequence.values[key * kvRowStride + kvHead * headSize + d])
                            }
                        }
                        output[query + d] = Float(sum / total)
                    }
                }
            }
        }
        return output
    }

    /// Normalized mean squared error `Σ(a−b)² / Σb²` of `actual` against `expected`.
    public static func normalizedMeanSquaredError(_ actual: [Float], _ expected: [Float]) -> Double {
        precondition(actual.count == expected.count)
        var error = 0.0, norm = 0.0
        for (a, b) in zip(actual, expected) {
            error += (Double(a) - Double(b)) * (Double(a) - Double(b))
            norm += Double(b) * Double(b)
        }
        return norm == 0 ? error : error / norm
    }
}
