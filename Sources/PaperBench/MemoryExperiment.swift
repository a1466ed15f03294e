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
            + "every 10 ms) against the theoretical minimum (tokens × bytes per token), and the process's peak resident "
            + "memory during the run (Linux's high-water mark, reset before each run)."
    }

    public func run(in context: BenchContext) async throws -> MemoryResult {
        let points = try await sweep.sweep(in: context).map { p in
            MemoryPoint(
                mode: p.mode, tokens: p.kvMinimumBytes / context.kvBytesPerToken, kvMinimumBytes: p.kvMinimumBytes,
                kvBytesInUse: p.kvBytesInUse, peakResidentBytes: p.peakResidentBytes, residentAfterBytes: p.residentAfterBytes)
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: context.bundle.path)
        return MemoryResult(
            kvBytesPerToken: context.kvBytesPerToken, modelFileBytes: (attributes?[.size] as? Int) ?? 0,
            contiguousPageTokens: contextPageTokens(context.bundle.model.configuration.contextLength),
            processPeakBytes: ProcessMemory.lifetimePeakBytes(), points: points)
    }
}
