import Foundation
import Llama
import PagedKVCache

/// The plainest KV store there is: per sequence, growing arrays of keys and values, and
/// attention computed as a full score row with an ordinary softmax in double precision. Tests
/// use it as the "ordinary attention" the fused kernels must equal.
public final class NaiveKVStore: KVStore {
    public let layerCount: Int
    public let headCount: Int
    public let kvHeadCount: Int
    public let headSize: Int
    /// keys[sequence][layer] = [position][kvHeadCount × headSize]
    private var keys: [SequenceID: [[Float]]] = [:]
    private var values: [SequenceID: [[Float]]] = [:]

    public init(configuration c: LlamaConfiguration) {
        layerCount = c.layerCount
        headCount = c.headCount
        kvHeadCount = c.kvHeadCount
        headSize = c.headSize
    }

    /// Forgets a sequence.
    public func remove(_ id: SequenceID) {
        keys[id] = nil
        values[id] = nil
    }

    public func write(layer: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, batch: ForwardBatch) {
        let width = kvHeadCount * headSize
        for s in batch.sequences {
            var ks = keys[s.id] ?? Array(repeating: [], count: layerCount)
            var vs = values[s.id] ?? Array(repeating: [], count: layerCount)
            let first = s.kvLength - s.tokenRange.count
            precondition(ks[layer].count == first * width, "NaiveKVStore: positions must be appended in order")
            for t in s.tokenRange {
                ks[layer] += UnsafeBufferPointer(start: k + t * width, count: width)
                vs[layer] += UnsafeBufferPointer(start: v + t * width, count: width)
            }
            keys[s.id] = ks
            values[s.id] = vs
        }
    }

    public func attend(
        layer: Int, slidingWindow: Int?, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: ForwardBatch
    ) {
        let width = kvHeadCount * headSize
        let group = headCount / kvHeadCount
        let scale = 1 / Double(headSize).squareRoot()
        for s in batch.sequences {
            let ks = keys[s.id]![layer], vs = values[s.id]![layer]
            for (i, t) in s.tokenRange.enumerated() {
                let position = s.kvLength - s.tokenRange.count + i
                for h in 0..<headCount {
                    let kvh = h / group
                    let q = queries + (t * headCount + h) * headSize
                    // Keys before the window get a score of −∞ (weight 0).
                    let firstVisible = slidingWindow.map { max(0, position - $0 + 1) } ?? 0
                    var scores = [Double](repeating: -Double.infinity, count: position + 1)
                    for p in firstVisible...position {
                        var dot = 0.0
                        for j in 0..<headSize { dot += Double(q[j]) * Double(ks[p * width + kvh * headSize + j]) }
                        scores[p] = dot * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    let out = output + (t * headCount + h) * headSize
                    for j in 0..<headSize {
                        var acc = 0.0
                        for p in 0...position { acc += e[p] * Double(vs[p * width + kvh * headSize + j]) }
                        out[j] = Float(acc / z)
                    }
                }
            }
        }
    }
}
