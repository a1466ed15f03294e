import FlexAttention
import Kernels
import PagedKVCache
import Testing
import TestSupport

/// The kernel against the naive reference, and against itself across layouts, page sizes,
/// batches and thread counts.
@Suite struct AttentionKernelTests {
    /// A random shape: 1 to 3 KV heads, GQA group 1 to 8, head size 32 to 128 (multiple of 8).
    static func randomShape(_ random: inout SeededRandom) -> AttentionShape {
        let kvHeads = Int.random(in: 1...3, using: &random)
        let group = [1, 2, 3, 4, 8].randomElement(using: &random)!
        let headSize = 8 * Int.random(in: 4...16, using: &random)
        return AttentionShape(queryHeadCount: kvHeads * group, kvHeadCount: kvHeads, headSize: headSize)
    }

    /// Random lengths that do not end on a page boundary: a long decode row (split into chunks
    /// and merged), then decode rows, short and long prefill runs.
    static func randomLengths(_ random: inout SeededRandom, sequences: Int, maxKV: Int) -> (queries: [Int], kv: [Int]) {
        var queries = [1], kv = [Int.random(in: 513...1100, using: &random) | 1]
        for _ in 1..<sequences {
            var length = Int.random(in: 1...maxKV, using: &random)
            if length % 8 == 0 { length += 1 }
            kv.append(length)
            queries.append(Bool.random(using: &random) ? 1 : Int.random(in: 1...min(length, 40), using: &random))
        }
        return (queries, kv)
    }

    @Test("paged equals contiguous bitwise, both equal the reference, for every built-in modifier",
          arguments: BuiltInModifier.allCases)
    func pagedContiguousReference(modifier: BuiltInModifier) throws {
        var random = SeededRandom(seed: UInt64(BuiltInModifier.allCases.firstIndex(of: modifier)!) &+ 0xA77E)
        for trial in 0..<2 {
            let shape = Self.randomShape(&random)
            let lengths = Self.randomLengths(&random, sequences: 4, maxKV: 200)
            let fixture = AttentionFixture(shape: shape, queryCounts: lengths.queries, kvLengths: lengths.kv, random: &random)
            try modifier.check(fixture: fixture, trial: trial)
        }
    }
}
