import FlexAttention
import SplitMix
import Kernels
import PagedKVCache

/// The keys and values of a benchmark batch (`batchSize` sequences of `context` positions, one
/// layer) in one layout: pages of `tokensPerPage` handed out in shuffled physical order, or one
/// page per sequence (contiguous). Every layout holds the same numbers, a hash of their
/// coordinates, so the paged and contiguous runs compute the same attention.
final class BenchmarkKVStore {
    let layout: PageLayout
    let contiguous: Bool
    let context: Int
    let base: UnsafeMutableRawPointer
    /// The page tables of all sequences, back to back, `pagesPerSequence` each.
    let pageTables: [UInt32]
    let pagesPerSequence: Int

    init(shape: AttentionShape, elementType: KVElementType, batchSize: Int, context: Int, tokensPerPage: Int?,
         pool: ThreadPool) throws {
        contiguous = tokensPerPage == nil
        self.context = context
        let pageLength = tokensPerPage ?? Self.powerOfTwo(atLeast: context)
        layout = try PageLayout(tokensPerPage: pageLength, layerCount: 1, kvHeadCount: shape.kvHeadCount,
                                headSize: shape.headSize, elementType: elementType)
        pagesPerSequence = AttentionTiling.tileCount(context, length: pageLength)
        let pageCount = batchSize * pagesPerSequence
        var physical = (0..<pageCount).map(UInt32.init)
        if !contiguous {
            var generator = SplitMix64(seed: 0x5EED)
            physical.shuffle(using: &generator)  // no two logical neighbours are physical neighbours, mostly
        }
        pageTables = physical
        base = .allocate(byteCount: pageCount * layout.bytesPerPage, alignment: 4096)
        fill(batchSize: batchSize, pool: pool)
    }

    deinit { base.deallocate() }

    /// Bytes of keys and values attention reads: every position of every sequence, K and V.
    var kvBytes: Int { pageTables.count / pagesPerSequence * context * layout.bytesPerToken }

    /// The batch's sequences, each with `queryCount` new rows, for the duration of `body`.
    func withSequences<R>(queryCount: Int, _ body: ([AttentionSequence]) -> R) -> R {
        pageTables.withUnsafeBufferPointer { tables in
            let sequences = (0..<tables.count / pagesPerSequence).map { b in
                AttentionSequence(
                    queryRows: b * queryCount..<(b + 1) * queryCount, kvLength: context,
                    pageTable: UnsafeBufferPointer(rebasing: tables[b * pagesPerSequence..<(b + 1) * pagesPerSequence]))
            }
            return body(sequences)
        }
    }

    /// Writes the hash value of every (sequence, head, position, dimension, K or V).
    private func fill(batchSize: Int, pool: ThreadPool) {
        let layout = self.layout, context = self.context, tables = pageTables, pages = pagesPerSequence
        let base = self.base
        pool.parallelFor(batchSize * layout.kvHeadCount) { job in
            let b = job / layout.kvHeadCount, kvHead = job % layout.kvHeadCount
            var row = [Float](repeating: 0, count: layout.headSize)
            for position in 0..<context {
                let page = PageID(rawValue: tables[b * pages + position / layout.tokensPerPage])
                for isValue in [false, true] {
                    let offset = layout.elementOffset(page: page, layer: 0, isValue: isValue, kvHead: kvHead,
                                                      tokenInPage: position % layout.tokensPerPage)
                    let first = (((job * context + position) * 2 + (isValue ? 1 : 0)) * layout.headSize)
                    for d in 0..<layout.headSize { row[d] = Self.value(UInt64(first + d)) }
                    KVWriter.storeRow(row, elementType: layout.elementType,
                                      to: base + offset * layout.elementType.byteCount)
                }
            }
        }
    }

    /// A float in [-1, 1) from an index.
    static func value(_ index: UInt64) -> Float {
        var generator = SplitMix64(seed: index)
        return Float(generator.next() >> 40) / Float(1 << 23) - 1
    }

    static func powerOfTwo(atLeast n: Int) -> Int {
        var p = 1
        while p < n { p *= 2 }
        return p
    }
}
