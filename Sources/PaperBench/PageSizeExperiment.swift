import Engine
import FlexAttention
import Foundation
import Llama
import PagedKVCache

/// Page size sweep: for the mixed batch's sequences (at their final lengths), the attention time
/// of one decode step with pages of each size, and the KV waste; optionally the end-to-end decode
/// latency of a smaller batch on the engine at each size.
public struct PageSizeExperiment: PaperExperiment, Hashable, Codable {
    public static let key = "pageSizes"
    public static let title = "Page size sweep"

    public var tokensPerPage: [Int] = [8, 16, 32, 64, 128, 256]
    /// Timed decode steps per page size (after one warm-up step).
    public var repetitions = 10
    /// The end-to-end check: this many requests with prompts up to `endToEndLongestPrompt`
    /// tokens (nil: not run), each generating `endToEndDecodeTokens`.
    public var endToEndLongestPrompt: Int?
    public var endToEndShortestPrompt = 64
    public var endToEndRequestCount = 16
    public var endToEndDecodeTokens = 16

    public var method: String {
        var text = "FlexAttention's decode kernel alone (the engine's code path: block mask, then every layer), for the mixed "
            + "batch's sequences at their final lengths, keys and values in pages of each size scattered through memory, "
            + "one query per sequence; median of \(repetitions) steps, in wall and CPU time. The contiguous layout (one context-sized page per "
            + "sequence) is the reference. KV waste is the mixed batch's, from the page geometry."
        if let longest = endToEndLongestPrompt {
            text += " End to end: \(endToEndRequestCount) requests with prompts \(endToEndShortestPrompt)…\(longest) tokens "
                + "on the engine at each page size, median gap between tokens over \(endToEndDecodeTokens) generated tokens (pages "
                + "only: a contiguous engine in the same budget runs fewer of them at once, so its gaps are not comparable)."
        }
        return text
    }

    public func run(in context: BenchContext) async throws -> PageSizeResult {
        let c = context.bundle.model.configuration
        let batch = context.plan.mixedBatch
        let lengths = batch.promptLengths(seed: context.plan.seed, contextLength: c.contextLength).map { $0 + batch.generatedTokens }
        let contiguousTokens = contextPageTokens(c.contextLength)
        let timer = DecodeAttentionTimer(
            shape: AttentionShape(queryHeadCount: c.headCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize), layerCount: c.layerCount)
        let endToEndLengths = endToEndLongestPrompt.map { longest in
            KVWasteComparison.paperMixedBatch(
                sequenceCount: endToEndRequestCount, lengths: min(endToEndShortestPrompt, longest)...longest, seed: context.plan.seed + 1)
        }
        var points: [PageSizePoint] = []
        for size in tokensPerPage + [contiguousTokens] {
            let steps = try timer.stepSeconds(lengths: lengths, tokensPerPage: size, repetitions: repetitions)
            let layout = try PageLayout(
                tokensPerPage: size, layerCount: c.layerCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize, elementType: .f32)
            let waste = try KVWasteComparison(sequenceLengths: lengths, layout: layout, contextLength: contiguousTokens).paged
            // End to end only for pages: the contiguous engine admits fewer of the batch at once
            // (its buffers run out first), so its per-token gaps would be of a smaller batch.
            var endToEnd: Double?
            if let endToEndLengths, size != contiguousTokens {
                let budget = contiguousTokens * 2
                let prompts = endToEndLengths.enumerated().map { context.tokens(count: $0.element, offset: 131 * $0.offset) }
                let run = try await context.withEngine(context.configuration(.paged, tokensPerPage: size, budgetTokens: budget)) { engine in
                    try await MeasuredBatch.run(prompts.map { context.request($0, generate: endToEndDecodeTokens) }, on: engine)
                }
                endToEnd = Statistics.median(run.traces.flatMap(\.interTokenGaps))
            }
            let point = PageSizePoint(
                tokensPerPage: size, attentionStepSeconds: Statistics.median(steps.map(\.wall)),
                attentionStepP90Seconds: Statistics.percentile(steps.map(\.wall), 90),
                attentionStepCPUSeconds: Statistics.median(steps.map(\.cpu)), kvWastePercent: waste.wastePercent,
                kvOverheadPercent: waste.overheadPercent, pageTableBytes: 4 * waste.usedPageCount, endToEndPerTokenSeconds: endToEnd)
            points.append(point)
            context.progress(
                "page sizes: \(size) tokens/page: decode attention \(fixed(1000 * point.attentionStepSeconds, 2)) ms/step, "
                    + "KV waste \(fixed(point.kvWastePercent, 2)) %" + (endToEnd.map { ", end to end \(fixed(1000 * $0, 1)) ms/token" } ?? ""))
        }
        return PageSizeResult(
            sequenceLengths: lengths, layerCount: c.layerCount, contiguousPageTokens: contiguousTokens, repetitions: repetitions,
            endToEndPromptLengths: endToEndLengths, points: points)
    }
}
