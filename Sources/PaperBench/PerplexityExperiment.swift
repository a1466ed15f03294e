import Engine
import Foundation
import Llama

/// Perplexity (the paper's accuracy metric, section III-D) of the reference text, computed with
/// the KV cache in use: non-overlapping windows, each prefilled in chunks that read the cache,
/// paged against contiguous, with llama.cpp's figure beside them when the peers' results exist.
public struct PerplexityExperiment: PaperExperiment, Hashable, Codable {
    public static let key = "perplexity"
    public static let title = "Perplexity"

    public var window = 512
    /// Windows scored (nil: every whole window of the text).
    public var windowCount: Int?
    public var modes: [KVMode] = [.paged, .contiguous]
    public var tokensPerPage = 16
    /// Tokens per prefill chunk: chunks after the first attend to the cache.
    public var chunkTokens = 128

    public var method: String {
        "Non-overlapping windows of \(window) tokens of the reference text "
            + (windowCount.map { "(the first \($0))" } ?? "(every whole window)")
            + ", no BOS; in each, tokens 1…\(window - 1) predicted from their prefix in the window. Each window is prefilled in "
            + "chunks of \(chunkTokens) tokens, so later chunks read keys and values back from the cache in each mode."
    }

    public func run(in context: BenchContext) async throws -> PerplexityResults {
        var runs: [PerplexityResult] = []
        var cpuSeconds: [Double] = []
        for mode in modes {
            var configuration = context.configuration(
                mode, tokensPerPage: tokensPerPage, budgetTokens: contextPageTokens(context.bundle.model.configuration.contextLength))
            configuration.maxBatchTokens = chunkTokens
            let log = context.progress
            let label = mode.label
            let startCPU = processCPUSeconds()
            let result = try context.bundle.perplexity(
                of: context.textTokens, window: window, windowCount: windowCount, configuration: configuration
            ) { done, total in
                if done == total || done % 4 == 0 { log("perplexity, \(label): window \(done)/\(total)") }
            }
            runs.append(result)
            cpuSeconds.append(processCPUSeconds() - startCPU)
            context.progress("perplexity, \(label): \(fixed(result.perplexity, 4)) over \(result.windowCount) windows")
        }
        return PerplexityResults(
            textTokens: context.textTokens.count, runs: runs, cpuSeconds: cpuSeconds, peer: context.peerResults.flatMap(PeerPerplexity.load),
            peerSource: context.peerResults?.path)
    }
}
