import Foundation
import Llama

/// A snapshot of the engine: requests, KV memory and its waste, prefix hits, throughput.
public struct EngineUsage: Sendable, Hashable, Codable, CustomStringConvertible {
    public var runningSequences: Int
    public var waitingSequences: Int
    public var kvMode: KVMode
    public var tokensPerPage: Int
    public var pageCount: Int
    public var usedPageCount: Int
    public var kvBytesInUse: Int
    public var kvMinimumBytes: Int
    public var kvWasteBytes: Int
    public var kvWastePercent: Double
    public var prefixCacheHits: Int
    public var prefixCacheMisses: Int
    public var prefixCacheHitPercent: Double
    public var preemptions: Int
    /// The fullest moment since the engine started: the most KV bytes in use at the end of a
    /// step, and the theoretical minimum at that moment (a reader polling `usage()` may miss a
    /// short run; the high-water mark does not).
    public var peakKVBytesInUse: Int
    public var peakKVMinimumBytes: Int
    public var generatedTokens: Int
    public var tokensPerSecond: Double
    /// Full pages kept by the prefix cache that no sequence holds (reused or evicted on demand).
    public var evictablePageCount = 0
    /// Prompt tokens looked up in the prefix cache, and those it served, over all admissions.
    public var prefixCacheQueryTokens = 0
    public var prefixCacheHitTokens = 0
    /// The forward passes' stage times, when ``EngineConfiguration/profileForward`` is on.
    public var forwardProfile: ForwardProfile?

    public var description: String {
        """
        requests: \(runningSequences) running, \(waitingSequences) waiting; \
        KV (\(kvMode), \(tokensPerPage) tokens/page): \(usedPageCount)/\(pageCount) pages, \
        \(kvBytesInUse) bytes in use, minimum \(kvMinimumBytes), waste \(kvWasteBytes) bytes \
        (\(String(format: "%.2f", kvWastePercent))%); prefix cache: \(prefixCacheHits) hits, \
        \(prefixCacheMisses) misses (\(String(format: "%.1f", prefixCacheHitPercent))%); \
        preemptions: \(preemptions); \(generatedTokens) tokens generated, \(String(format: "%.1f", tokensPerSecond)) tok/s
        """
    }
}
