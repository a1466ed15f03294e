import Engine
import Foundation
import Llama

/// Memory against sequence length (the paper's peak-memory figure and its "memory overhead
/// against the theoretical minimum"), read from the latency sweep's runs: each ran on a fresh
/// engine with the kernel's resident-memory high-water mark reset just before it.
public struct MemoryExperiment: PaperExperiment {
    public static let key = "memory"
    public static let title = "Memory against the theoretical minimum"

    /// The sweep whose runs are measured (run again here if the latency experiment failed).
    public var sweep: LatencyExperiment

    public var method: String {
        "The runs of the latency sweep: for each, the KV bytes the cache's books held at the fullest moment (sampled "
            + "every 10 ms and at every token) against the theoretical minimum for the sequence's final length (tokens × "
            + "bytes per token), and the process's peak resident memory during the run (Linux's high-water mark, reset "
            + "before each run). Without a cache the engine holds keys and values only inside a step and releases them "
            + "after it, so its books show none between steps; its resident memory still counts them. On a model with "
            + "sliding-window layers, also the part of the minimum its layers can still read (each window layer its last "
            + "window of positions): what a paged cache that gives the rest back holds at the least."
    }

    public func run(in context: BenchContext) async throws -> MemoryResult {
        let c = context.bundle.model.configuration
        let bytesPerLayerToken = context.kvBytesPerToken / c.layerCount
        let points = try await sweep.sweep(in: context).map { p in
            // The minimum is the sequence's final length: the most it stored.
            let tokens = p.promptTokens + p.generatedTokens
            let reachable = c.slidingWindow == nil
                ? nil : (0..<c.layerCount).reduce(0) { $0 + min(tokens, c.slidingWindow(layer: $1) ?? tokens) } * bytesPerLayerToken
            return MemoryPoint(
                mode: p.mode, tokens: tokens, kvMinimumBytes: tokens * context.kvBytesPerToken, kvReachableBytes: reachable,
                kvBytesInUse: p.kvBytesInUse, peakResidentBytes: p.peakResidentBytes, residentBeforeBytes: p.residentBeforeBytes)
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: context.bundle.path)
        return MemoryResult(
            kvBytesPerToken: context.kvBytesPerToken, modelFileBytes: (attributes?[.size] as? Int) ?? 0,
            contiguousPageTokens: contextPageTokens(context.bundle.model.configuration.contextLength),
            processPeakBytes: ProcessMemory.lifetimePeakBytes(), points: points)
    }
}
