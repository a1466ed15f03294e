import FlexAttention
import Foundation
import Llama
import PagedKVCache

/// Perplexity over non-overlapping windows: in each window of `window` tokens, tokens
/// `1 ..< window` are predicted from their prefix inside the window. When the tokenizer puts BOS
/// first (Gemma), each window's first token is replaced by BOS, as llama-perplexity does; otherwise
/// (SmolLM2) the windows are the text's tokens as they are. Runs the
/// model through the same KV store the engine uses, in any ``KVMode``, prefilling each window in
/// chunks of the configuration's `maxBatchTokens` (so chunks after the first read the cache).
public struct PerplexityResult: Sendable, Codable, Hashable {
    public var kvMode: KVMode
    public var tokensPerPage: Int
    public var activations: String
    public var window: Int
    public var windowCount: Int
    public var predictionCount: Int
    public var meanNLL: Double
    public var perplexity: Double
    public var perWindowMeanNLL: [Double]
    public var seconds: Double
}

extension ModelBundle {
    /// Perplexity of `tokens` over its first `windowCount` windows (as many as fit by default).
    public func perplexity(
        of tokens: [Int32], window: Int, windowCount: Int? = nil, configuration: EngineConfiguration = .init(),
        progress: ((Int, Int) -> Void)? = nil, tokenNLL: ((_ window: Int, _ position: Int, _ nll: Double) -> Void)? = nil
    ) throws(EngineError) -> PerplexityResult {
        let c = model.configuration
        guard window >= 2, window <= c.contextLength else {
            throw .invalidConfiguration("the window must be between 2 and the context (\(c.contextLength)) tokens, got \(window)")
        }
        let available = tokens.count / window
        let count = min(windowCount ?? available, available)
        guard count >= 1 else {
            throw .invalidConfiguration("the text has \(tokens.count) tokens, fewer than one window of \(window)")
        }
        var config = configuration
        config.prefixCaching = false
        var cache = try Engine.makeCache(model: c, configuration: config)
        let chunk = config.kvMode == .none ? window : max(1, config.maxBatchTokens)
        let store = PagedKVStore(
            layout: cache.layout, groups: cache.layerGroups, shape: AttentionShape(queryHeadCount: c.headCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize))
        let state = LlamaState(configuration: c, activationPrecision: config.activationPrecision)
        var logits: [Float] = []
        var perWindow: [Double] = []
        let start = Date()
        let vocab = c.vocabularySize
        for w in 0..<count {
            var windowTokens = Array(tokens[w * window..<(w + 1) * window])
            if tokenizer.addBOS, let bos = tokenizer.bosTokenID { windowTokens[0] = bos }
            let id = SequenceID(rawValue: UInt64(w + 1))
            var nll = 0.0
            try prefill(windowTokens, id: id, cache: &cache, store: store, state: state, chunk: chunk,
                        logitPositions: { Array($0.clamped(to: 0..<window - 1)) }, logits: &logits) { positions, all in
                for (row, p) in positions.enumerated() {
                    let r = UnsafeBufferPointer(rebasing: all[row * vocab..<(row + 1) * vocab])
                    let token = Self.logSumExp(r) - Double(r[Int(windowTokens[p + 1])])
                    tokenNLL?(w, p + 1, token)
                    nll += token
                }
            }
            cache.release(id)
            perWindow.append(nll / Double(window - 1))
            progress?(w + 1, count)
        }
        let mean = perWindow.reduce(0, +) / Double(perWindow.count)
        return PerplexityResult(
            kvMode: config.kvMode, tokensPerPage: cache.layout.tokensPerPage,
            activations: config.activationPrecision.rawValue, window: window, windowCount: count,
            predictionCount: count * (window - 1), meanNLL: mean, perplexity: Foundation.exp(mean),
            perWindowMeanNLL: perWindow, seconds: Date().timeIntervalSince(start))
    }

    /// The logits of `positions` of `tokens`, run as one sequence through the engine's KV cache in
    /// `configuration`'s mode (prefilled in chunks of `maxBatchTokens`, so later chunks read the
    /// cache; one step in `none` mode): `body(position, logits)` for each position in order,
    /// `logits` valid during the call only.
    public func forEachPromptLogits(
        of tokens: [Int32], positions: Set<Int>, configuration: EngineConfiguration = .init(),
        _ body: (Int, UnsafeBufferPointer<Float>) -> Void
    ) throws(EngineError) {
        let c = model.configuration
        guard !tokens.isEmpty, tokens.count <= c.contextLength else {
            throw tokens.isEmpty ? .emptyPrompt : .promptTooLong(tokenCount: tokens.count, contextLength: c.contextLength)
        }
        var config = configuration
        config.prefixCaching = false
        var cache = try Engine.makeCache(model: c, configuration: config)
        let store = PagedKVStore(
            layout: cache.layout, groups: cache.layerGroups, shape: AttentionShape(queryHeadCount: c.headCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize))
        let state = LlamaState(configuration: c, activationPrecision: config.activationPrecision)
        let chunk = config.kvMode == .none ? tokens.count : max(1, config.maxBatchTokens)
        let vocab = c.vocabularySize
        var logits: [Float] = []
        let id = SequenceID(rawValue: 1)
        try prefill(tokens, id: id, cache: &cache, store: store, state: state, chunk: chunk,
                    logitPositions: { range in range.filter(positions.contains) }, logits: &logits) { chunkPositions, all in
            for (row, p) in chunkPositions.enumerated() { body(p, UnsafeBufferPointer(rebasing: all[row * vocab..<(row + 1) * vocab])) }
        }
        cache.release(id)
    }

    /// Starts sequence `id` with `tokens` and computes them in chunks of `chunk` through `store`;
    /// after each chunk, `body` gets the chunk's positions `logitPositions(chunk range)` and
    /// their logits. Leaves the sequence in the cache (the caller releases it).
    func prefill(
        _ tokens: [Int32], id: SequenceID, cache: inout KVCacheManager, store: PagedKVStore, state: LlamaState, chunk: Int,
        logitPositions: (Range<Int>) -> [Int], logits: inout [Float], body: ([Int], UnsafeBufferPointer<Float>) -> Void
    ) throws(EngineError) {
        guard cache.startSequence(id, promptTokens: tokens.map(UInt32.init(bitPattern:))) != nil else {
            throw .exceedsKVBudget(tokenCount: tokens.count, budgetTokens: cache.tokenCapacity)
        }
        var batch = ForwardBatch()
        var position = 0
        while position < tokens.count {
            let end = min(tokens.count, position + chunk)
            let wanted = logitPositions(position..<end)
            batch.removeAll()
            batch.append(sequence: id, tokens: tokens[position..<end], cachedCount: position, wantLogits: false)
            batch.logitRows = wanted.map { $0 - position }
            if batch.logitRows.isEmpty { batch.logitRows = [end - 1 - position] }
            store.prepare(batch: batch) { sid, group, body in cache.withPageTable(of: sid, group: group, body) }
            cache.withMutableStorage { storage in
                storage.withUnsafeMutableBytes { bytes in
                    store.base = bytes.baseAddress!
                    model.forward(batch, kv: store, state: state, logits: &logits)
                    store.base = nil
                }
            }
            cache.markComputed(id, tokenCount: end)
            if !wanted.isEmpty { logits.withUnsafeBufferPointer { body(wanted, $0) } }
            position = end
        }
    }

    /// log Σ e^x, in double precision.
    static func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Double {
        let m = Double(x.max()!)
        var sum = 0.0
        for v in x { sum += Foundation.exp(Double(v) - m) }
        return m + Foundation.log(sum)
    }
}
