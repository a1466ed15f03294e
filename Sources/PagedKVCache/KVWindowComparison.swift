/// What one long sequence holds with the sliding-window layers' pages given back, against the
/// same paged layout keeping them, and against the contiguous baseline (one context-sized
/// buffer of every layer). Measured through the cache's own books (``KVCacheManager`` without
/// storage), driven as the scheduler drives it: a prompt prefilled in chunks, each chunk's
/// slots reserved when it is scheduled, then one token at a time.
///
/// Sizes are in *layer-tokens*: one position's keys and values in one layer. A sequence of `n`
/// tokens needs `n × layers` with every layer global; with `w`-token windows on `L_w` layers and
/// `L_g` global ones, `min(n, w) × L_w + n × L_g` (Gemma 3 at 4,096: 15 × 512 + 3 × 4,096).
public struct KVWindowComparison: Sendable, Hashable {
    public let layerGroups: KVLayerGroups
    public let tokensPerPage: Int
    public let sequenceLength: Int
    public let promptLength: Int
    public let chunkTokenCount: Int
    public let contextLength: Int
    /// Layer-tokens of the pages held once the sequence is computed, window pages released.
    public let releasedLayerTokens: Int
    /// The most layer-tokens held at the end of any step of the run, window pages released.
    public let releasedPeakLayerTokens: Int
    /// The same layout keeping every page.
    public let keptLayerTokens: Int
    /// One contiguous buffer of `contextLength` positions for every layer.
    public let contiguousLayerTokens: Int
    /// `min(n, w) × window layers + n × global layers`: what the layers can still read.
    public let minimumLayerTokens: Int
    /// One layer-token in bytes.
    public let bytesPerLayerToken: Int

    /// Runs one sequence of `sequenceLength` tokens: a prompt of `promptLength` prefilled in
    /// chunks of `chunkTokenCount`, then decoded token by token to `sequenceLength`.
    ///
    /// - Parameters:
    ///   - layout: the page geometry; its `layerCount` must be `layerGroups.layersPerGroup`.
    ///   - releaseAlignment: the attention kernel's KV tile (pages are given back whole tiles
    ///     behind the window).
    public init(
        layerGroups: KVLayerGroups, layout: PageLayout, sequenceLength: Int, promptLength: Int, chunkTokenCount: Int,
        contextLength: Int, releaseAlignment: Int
    ) {
        precondition(promptLength >= 1 && promptLength <= sequenceLength && sequenceLength <= contextLength)
        precondition(chunkTokenCount >= 1)
        self.layerGroups = layerGroups
        self.tokensPerPage = layout.tokensPerPage
        self.sequenceLength = sequenceLength
        self.promptLength = promptLength
        self.chunkTokenCount = chunkTokenCount
        self.contextLength = contextLength
        self.bytesPerLayerToken = layout.bytesPerToken / layout.layerCount
        let layerTokensPerPage = layout.tokensPerPage * layout.layerCount
        let pagesPerGroup = (sequenceLength + layout.tokensPerPage - 1) / layout.tokensPerPage
        let run = { (alignment: Int?) -> (end: Int, peak: Int) in
            var cache = KVCacheManager(
                layout: layout, pageCount: pagesPerGroup * layerGroups.groupCount, prefixCaching: true,
                maxTokensPerSequence: sequenceLength, layerGroups: layerGroups, windowReleaseAlignment: alignment)
            let id = SequenceID(rawValue: 1)
            let tokens = (0..<sequenceLength).map { UInt32($0 % 50_000) }
            var peak = 0
            let prompt = Array(tokens[0..<promptLength])
            let started = cache.startSequence(id, promptTokens: prompt, maxNewSlots: chunkTokenCount)
            precondition(started == 0, "the pool is sized for the sequence")
            var computed = 0
            while computed < promptLength {
                let end = min(promptLength, computed + chunkTokenCount)
                let reserved = cache.tokenCount(of: id)
                if reserved < end {
                    let appended = cache.append(Array(prompt[reserved..<end]), to: id)
                    precondition(appended, "the pool is sized for the sequence")
                }
                peak = max(peak, cache.usage.usedPageCount)
                cache.markComputed(id, tokenCount: end)
                computed = end
            }
            for position in promptLength..<sequenceLength {
                let appended = cache.append(token: tokens[position], to: id)
                precondition(appended, "the pool is sized for the sequence")
                peak = max(peak, cache.usage.usedPageCount)
                cache.markComputed(id)
            }
            let end = cache.usage.usedPageCount
            cache.release(id)
            return (end * layerTokensPerPage, peak * layerTokensPerPage)
        }
        let released = run(releaseAlignment)
        releasedLayerTokens = released.end
        releasedPeakLayerTokens = released.peak
        keptLayerTokens = run(nil).end
        contiguousLayerTokens = contextLength * layerGroups.layerCount
        var minimum = 0
        for group in 0..<layerGroups.groupCount {
            let positions = layerGroups.windowLengths[group].map { min(sequenceLength, $0) } ?? sequenceLength
            minimum += positions * layerGroups.layersPerGroup
        }
        minimumLayerTokens = minimum
    }
}
