import SplitMix
/// The paper's headline measurement: the KV memory a batch of sequences wastes with fixed-size
/// pages, next to a contiguous cache that reserves the whole context for every sequence.
///
/// Both sides are measured, not computed: each runs a ``KVCacheManager`` (books only, no prefix
/// sharing) with one sequence per length. The contiguous side is the same manager with one page
/// per sequence as long as the context, which is how the engine runs `--kv contiguous`.
public struct KVWasteComparison: Sendable, Hashable, CustomStringConvertible {
    public let sequenceLengths: [Int]
    public let contextLength: Int
    /// Usage with pages of the given layout's `tokensPerPage`.
    public let paged: KVCacheUsage
    /// Usage with one `contextLength`-token page per sequence.
    public let contiguous: KVCacheUsage

    /// Measures the waste of `sequenceLengths` with `layout`'s pages and with contiguous
    /// `contextLength`-token buffers.
    ///
    /// - Parameters:
    ///   - layout: the model's geometry and the page size of the paged side.
    ///   - contextLength: the contiguous buffer per sequence; a power of two no shorter than any
    ///     sequence.
    /// - Throws: ``PageLayoutError`` when `contextLength` is not a valid page size.
    /// - Complexity: O(sum of the lengths).
    public init(sequenceLengths: [Int], layout: PageLayout, contextLength: Int) throws(PageLayoutError) {
        precondition(sequenceLengths.allSatisfy { $0 >= 0 && $0 <= contextLength }, "a sequence exceeds the context")
        let contiguousLayout = try PageLayout(
            tokensPerPage: contextLength, layerCount: layout.layerCount, kvHeadCount: layout.kvHeadCount,
            headSize: layout.headSize, elementType: layout.elementType)
        let pagedPageCount = sequenceLengths.reduce(0) { $0 + ($1 + layout.tokensPerPage - 1) / layout.tokensPerPage }
        self.sequenceLengths = sequenceLengths
        self.contextLength = contextLength
        self.paged = Self.usage(of: sequenceLengths, layout: layout, pageCount: pagedPageCount)
        self.contiguous = Self.usage(of: sequenceLengths, layout: contiguousLayout, pageCount: sequenceLengths.count)
    }

    /// The paper's mixed batch: `sequenceCount` lengths drawn uniformly from `lengths` by a
    /// generator seeded with `seed` (the same lengths on every platform and release).
    public static func paperMixedBatch(
        sequenceCount: Int = 16, lengths: ClosedRange<Int> = 128 ... 8192, seed: UInt64
    ) -> [Int] {
        var generator = SplitMix64(seed: seed)
        let span = UInt64(lengths.count)
        return (0 ..< sequenceCount).map { _ in lengths.lowerBound + Int(generator.next() % span) }
    }

    private static func usage(of lengths: [Int], layout: PageLayout, pageCount: Int) -> KVCacheUsage {
        var manager = KVCacheManager(layout: layout, pageCount: max(pageCount, 1), prefixCaching: false)
        for (index, length) in lengths.enumerated() {
            let started = manager.startSequence(
                SequenceID(rawValue: UInt64(index)), promptTokens: Array(repeating: 0, count: length))
            precondition(started != nil, "the pool is sized for the batch")
        }
        return manager.usage
    }

    public var description: String {
        "\(sequenceLengths.count) sequences, \(sequenceLengths.reduce(0, +)) tokens: paged (\(paged.bytesPerPage / paged.bytesPerToken)-token pages) wastes "
            + "\(paged.wasteBytes) B (\(KVCacheUsage.format(paged.wastePercent))% of \(paged.bytesInUse) B); contiguous "
            + "(\(contextLength)-token buffers) wastes \(contiguous.wasteBytes) B (\(KVCacheUsage.format(contiguous.wastePercent))% of "
            + "\(contiguous.bytesInUse) B)"
    }
}
