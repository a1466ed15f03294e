import Engine
import Foundation
import Llama
import PagedKVCache

/// The paper's mixed batch (section IV-A, scenario 2): concurrent requests with prompt lengths
/// drawn uniformly from a range, submitted together to an engine with a fixed KV budget, paged
/// against contiguous. The same budget is what makes the comparison: contiguous buffers admit
/// budget ÷ context sequences at once, pages admit as many as their tokens fit.
public struct MixedBatchExperiment: PaperExperiment, Hashable, Codable {
    public static let key = "mixedBatch"
    public static let title = "Mixed batch"

    public var requestCount = 16
    public var shortestPrompt: Int
    public var longestPrompt: Int
    public var generatedTokens = 32
    /// The KV budget every mode gets, in tokens.
    public var budgetTokens = 32768
    public var tokensPerPage = 16
    public var modes: [KVMode] = [.paged, .contiguous]

    public var method: String {
        "\(requestCount) greedy requests submitted at once, prompt lengths uniform in \(shortestPrompt)…\(longestPrompt) "
            + "(seeded), \(generatedTokens) tokens each, no prefix cache; every mode gets the same KV budget of "
            + "\(grouped(budgetTokens)) tokens. KV memory is sampled every 10 ms."
    }

    /// The prompt lengths (the same for every mode and every run with this seed).
    func promptLengths(seed: UInt64, contextLength: Int) -> [Int] {
        let longest = min(longestPrompt, contextLength - generatedTokens - 1)
        return KVWasteComparison.paperMixedBatch(
            sequenceCount: requestCount, lengths: min(shortestPrompt, longest)...longest, seed: seed)
    }

    public func run(in context: BenchContext) async throws -> MixedBatchResult {
        let c = context.bundle.model.configuration
        let lengths = promptLengths(seed: context.plan.seed, contextLength: c.contextLength)
        let prompts = lengths.enumerated().map { index, length in context.tokens(count: length, offset: 97 * index) }
        var runs: [MixedBatchRun] = []
        for mode in modes {
            let configuration = context.configuration(mode, tokensPerPage: tokensPerPage, budgetTokens: budgetTokens)
            let log = context.progress
            let label = mode.label
            context.progress("mixed batch, \(label): \(requestCount) requests, \(grouped(lengths.reduce(0, +))) prompt tokens")
            let (batch, pageTokens, preemptions) = try await context.withEngine(configuration) { engine in
                let batch = try await MeasuredBatch.run(
                    prompts.map { context.request($0, generate: generatedTokens) }, on: engine
                ) { index, count in
                    if count == 1 { log("mixed batch, \(label): request \(index + 1) (\(lengths[index]) tokens) first token") }
                }
                return (batch, engine.pageLayout.tokensPerPage, engine.usage().preemptions)
            }
            let fullest = batch.fullestSample
            let every = max(1, batch.samples.count / 300)
            let run = MixedBatchRun(
                mode: mode, tokensPerPage: pageTokens, wallSeconds: batch.wallSeconds, cpuSeconds: batch.cpuSeconds, promptTokens: lengths.reduce(0, +),
                generatedTokens: batch.generatedTokenCount,
                generatedTokensPerSecond: Double(batch.generatedTokenCount) / batch.wallSeconds,
                totalTokensPerSecond: Double(batch.generatedTokenCount + lengths.reduce(0, +)) / batch.wallSeconds,
                timeToFirstToken: Percentiles(batch.traces.map(\.timeToFirstToken)),
                perTokenLatency: Percentiles(batch.traces.flatMap(\.interTokenGaps)),
                kvBytesInUse: fullest?.kvBytesInUse ?? 0, kvMinimumBytes: fullest?.kvMinimumBytes ?? 0,
                peakResidentBytes: batch.peakResidentBytes, residentBeforeBytes: batch.residentBeforeBytes, maxRunningSequences: batch.maxRunningSequences,
                preemptions: preemptions, requestTimeToFirstToken: batch.traces.map(\.timeToFirstToken),
                timeline: batch.samples.enumerated().filter { $0.offset % every == 0 }.map(\.element))
            runs.append(run)
            context.progress(
                "mixed batch, \(label): \(fixed(run.generatedTokensPerSecond)) generated tokens/s, TTFT p50 "
                    + "\(fixed(run.timeToFirstToken.p50, 2)) s, per-token p50 \(fixed(1000 * run.perTokenLatency.p50)) ms, "
                    + "KV waste \(fixed(run.kvWastePercent)) %, \(run.maxRunningSequences) running at most")
        }
        return MixedBatchResult(
            promptLengths: lengths, generatedTokens: generatedTokens, budgetTokens: budgetTokens,
            kvBytesPerToken: context.kvBytesPerToken, tokensPerPage: tokensPerPage,
            contiguousPageTokens: contextPageTokens(c.contextLength), runs: runs)
    }
}
