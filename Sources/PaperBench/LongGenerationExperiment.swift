import Engine
import Foundation
import Llama

/// The paper's single long sequence (section IV-A, scenario 1; throughput as section III-D
/// defines it, over the final 256 tokens): one sequence generating until a target length, stop
/// tokens disabled, paged against contiguous.
public struct LongGenerationExperiment: PaperExperiment, Hashable, Codable {
    public static let key = "longGeneration"
    public static let title = "Long generation"

    /// The sequence length (prompt and generated tokens) to reach.
    public var targetLength: Int
    public var promptTokens = 64
    /// Throughput is measured over windows of this many tokens; the headline is the final one.
    public var windowTokens = 256
    public var modes: [KVMode] = [.paged, .contiguous]
    public var tokensPerPage = 16

    public var method: String {
        "One greedy sequence from a \(promptTokens)-token prompt generates until it is \(grouped(targetLength)) tokens long "
            + "(stop tokens disabled), on a fresh engine per mode; throughput over each window of \(windowTokens) generated "
            + "tokens from the arrival times (the paper's throughput), with the window's median gap and median CPU time per token "
            + "beside it; the headline is the final window."
    }

    public func run(in context: BenchContext) async throws -> LongGenerationResult {
        let contextLength = context.bundle.model.configuration.contextLength
        let length = min(targetLength, contextLength - 1)
        var runs: [LongGenerationRun] = []
        for mode in modes {
            let generate = length - promptTokens
            let configuration = context.configuration(mode, tokensPerPage: tokensPerPage, budgetTokens: contextPageTokens(contextLength))
            let log = context.progress
            let label = mode.label
            let batch = try await context.withEngine(configuration) { engine in
                try await MeasuredBatch.run([context.request(context.tokens(count: promptTokens), generate: generate)], on: engine) { _, count in
                    if count % 1024 == 0 { log("long generation, \(label): \(count)/\(generate) tokens") }
                }
            }
            let trace = batch.traces[0]
            let gaps = trace.interTokenGaps, cpuGaps = trace.interTokenCPUGaps
            var windows: [LongGenerationRun.Window] = []
            var end = gaps.count
            while end >= windowTokens {
                let window = Array(gaps[(end - windowTokens)..<end])
                windows.insert(
                    .init(endLength: promptTokens + end + 1, tokensPerSecond: Double(windowTokens) / window.reduce(0, +),
                          medianGapMilliseconds: 1000 * Statistics.median(window),
                          cpuMillisecondsPerToken: 1000 * Statistics.median(Array(cpuGaps[(end - windowTokens)..<end]))), at: 0)
                end -= windowTokens
            }
            let last = batch.samples.last { $0.kvBytesInUse > 0 }
            let run = LongGenerationRun(
                mode: mode, promptTokens: promptTokens, generatedTokens: trace.tokens.count, finishReason: trace.finishReason,
                finalWindowTokensPerSecond: windows.last?.tokensPerSecond ?? .nan, windows: windows, wallSeconds: batch.wallSeconds,
                peakResidentBytes: batch.peakResidentBytes, kvBytesInUse: last?.kvBytesInUse ?? 0, kvMinimumBytes: last?.kvMinimumBytes ?? 0)
            runs.append(run)
            context.progress(
                "long generation, \(label): \(run.generatedTokens) tokens, \(fixed(run.finalWindowTokensPerSecond)) tokens/s over the "
                    + "final \(windowTokens)")
        }
        return LongGenerationResult(
            targetLength: targetLength, reachableLength: length, contextLength: contextLength, windowTokens: windowTokens, runs: runs)
    }
}
