import FlexAttention
import Foundation
import Llama
import PagedKVCache

/// Perplexity over non-overlapping windows: in each window of `window` tokens, tokens
/// `1 ..< window` are predicted from their prefix inside the window (no BOS added). Runs the
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
        progress: ((Int, Int) -> Void)? = nil
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
            layout: cache.layout, shape: AttentionShape(queryHeadCount: c.headCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize))
        let state = LlamaState(configuration: c, activationPrecision: config.activationPrecision)
        var logits: [Float] = []
        var batch = ForwardBatch()
        var perWindow: [Double] = []
        let start = Date()
        let vocab = c.vocabularySize
        for w in 0..<count {
            let windowTokens = Array(tokens[w * window..<(w + 1) * window])
            let id = SequenceID(rawValue: UInt64(w + 1))
            guard cache.startSequence(id, promptTokens: windowTokens.map(UInt32.init(bitPattern:))) != nil else {
                throw .exceedsKVBudget(tokenCount: window, budgetTokens: cache.usage.pageCount * cache.layout.tokensPerPage)
            }
            var nll = 0.0
            var position = 0
            while position < window - 1 {
                let end = min(window, position + chunk)
                batch.removeAll()
                batch.append(sequence: id, tokens: windowTokens[position..<end], cachedCount: position, wantLogits: false)
                batch.logitRows = Array(0..<min(end, window - 1) - position)
                store.prepare(batch: batch) { sid, body in cache.withPageTable(of: sid, body) }
                cache.withMutableStorage { storage in
                    storage.withUnsafeMutableBytes { bytes in
                        store.base = bytes.baseAddress!
                        model.forward(batch, kv: store, state: state, logits: &logits)
                        store.base = nil
                    }
                }
                cache.markComputed(id, tokenCount: end)
                logits.withUnsafeBufferPointer { all in
                    for (row, p) in (position..<min(end, window - 1)).enumerated() {
                        let r = UnsafeBufferPointer(rebasing: all[row * vocab..<(row + 1) * vocab])
                        nll += Self.logSumExp(r) - Double(r[Int(windowTokens[p + 1])])
                    }
                }
                position = end
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

    /// log Σ e^x, in double precision.
    static func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Double {
        let m = Double(x.max()!)
        var sum = 0.0
        for v in x { sum += Foundation.exp(Double(v) - m) }
        return m + Foundation.log(sum)
    }
}
