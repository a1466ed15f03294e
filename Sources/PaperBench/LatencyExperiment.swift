import Engine
import Foundation
import Llama

/// Latency against sequence length (the paper's figure of latency from 128 to 2048 tokens with
/// and without a KV cache): for each prompt length and KV mode, one request on a fresh engine;
/// its time to first token and its mean per-token decode latency.
public struct LatencyExperiment: PaperExperiment, Hashable, Codable {
    public static let key = "latency"
    public static let title = "Latency against sequence length"

    public var promptLengths: [Int]
    public var modes: [KVMode] = [.none, .contiguous, .paged]
    /// Tokens generated with a cache (the per-token latency is their mean gap).
    public var decodeTokens: Int
    /// Tokens generated without a cache: each one recomputes the whole sequence, so a few gaps
    /// measure it as well as many would.
    public var noCacheDecodeTokens: Int
    /// The longest prompt the no-cache mode runs (nil: every length). Each of its tokens is a
    /// prefill of the whole sequence, quadratic in the attention: at 32k tokens, minutes a token.
    public var noCacheLongestPrompt: Int?
    public var tokensPerPage = 16

    public init(promptLengths: [Int], decodeTokens: Int, noCacheDecodeTokens: Int, noCacheLongestPrompt: Int? = nil) {
        self.promptLengths = promptLengths
        self.decodeTokens = decodeTokens
        self.noCacheDecodeTokens = noCacheDecodeTokens
        self.noCacheLongestPrompt = noCacheLongestPrompt
    }

    public var method: String {
        "For each prompt length and KV mode, one greedy request on a fresh engine (prompts are the reference text; "
            + "no prefix cache): time to first token (the prefill) and the median and mean gaps between generated tokens "
            + "(\(decodeTokens) tokens with a cache, \(noCacheDecodeTokens) without), in wall time and in the process's CPU "
            + "time. Modes run one after another at each length, so a change in the machine's load falls on all of them."
            + (noCacheLongestPrompt.map { " Without a cache only up to \(grouped($0)) tokens (each token recomputes the whole sequence)." } ?? "")
    }

    public func run(in context: BenchContext) async throws -> LatencyResult {
        LatencyResult(points: try await sweep(in: context))
    }

    /// The sweep's points, measured once per run of the bench (the memory experiment reads the
    /// same runs).
    func sweep(in context: BenchContext) async throws -> [LengthPoint] {
        if let done = context.lengthSweep { return done }
        let c = context.bundle.model.configuration
        let budget = contextPageTokens(c.contextLength)
        var points: [LengthPoint] = []
        for length in promptLengths {
            for mode in modes where mode != KVMode.none || length <= noCacheLongestPrompt ?? length {
                let generate = mode == KVMode.none ? noCacheDecodeTokens : decodeTokens
                let prompt = context.tokens(count: min(length, context.longestPrompt(generating: generate)))
                // Lengths past the model's context all become its longest prompt: measured once.
                if points.contains(where: { $0.mode == mode && $0.promptTokens == prompt.count }) { continue }
                let configuration = context.configuration(mode, tokensPerPage: tokensPerPage, budgetTokens: budget)
                let run = try await context.withEngine(configuration) { engine in
                    (try await MeasuredBatch.run([context.request(prompt, generate: generate)], on: engine), engine.pageLayout.tokensPerPage)
                }
                let trace = run.0.traces[0]
                let fullest = run.0.fullestSample
                let point = LengthPoint(
                    mode: mode, tokensPerPage: run.1, promptTokens: prompt.count, generatedTokens: trace.tokens.count,
                    timeToFirstTokenSeconds: trace.timeToFirstToken,
                    decodeSecondsPerToken: Statistics.median(trace.interTokenGaps),
                    decodeMeanSecondsPerToken: Statistics.mean(trace.interTokenGaps),
                    prefillCPUSeconds: trace.firstTokenCPUSeconds, decodeCPUSecondsPerToken: Statistics.median(trace.interTokenCPUGaps),
                    kvBytesInUse: fullest?.kvBytesInUse ?? 0, kvMinimumBytes: fullest?.kvMinimumBytes ?? 0,
                    peakResidentBytes: run.0.peakResidentBytes, residentBeforeBytes: run.0.residentBeforeBytes)
                points.append(point)
                context.progress(
                    "latency: \(mode.label), \(prompt.count) tokens: TTFT \(fixed(point.timeToFirstTokenSeconds, 2)) s, "
                        + "\(fixed(1000 * point.decodeSecondsPerToken)) ms/token, peak RSS \(mebibytes(point.peakResidentBytes))")
            }
        }
        context.lengthSweep = points
        return points
    }
}

/// The page of the contiguous and no-cache modes: the context rounded up to a power of two (what
/// the engine allocates per sequence in those modes).
func contextPageTokens(_ contextLength: Int) -> Int {
    1 << (Int.bitWidth - (contextLength - 1).leadingZeroBitCount)
}
