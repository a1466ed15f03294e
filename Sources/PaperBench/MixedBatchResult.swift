import Engine
import Foundation

/// The mixed batch in every mode, with the batch's lengths and what fits in the budget.
public struct MixedBatchResult: ExperimentResult, Hashable {
    public var promptLengths: [Int]
    public var generatedTokens: Int
    public var budgetTokens: Int
    public var kvBytesPerToken: Int
    public var tokensPerPage: Int
    public var contiguousPageTokens: Int
    public var runs: [MixedBatchRun]

    /// Pages one request needs at its final length, and the pages of the budget, in `mode`.
    private func need(_ mode: KVMode) -> (perRequest: [Int], budget: Int) {
        if mode == .paged {
            let perRequest = promptLengths.map { ($0 + generatedTokens + tokensPerPage - 1) / tokensPerPage }
            return (perRequest, budgetTokens / tokensPerPage)
        }
        return (promptLengths.map { _ in 1 }, budgetTokens / contiguousPageTokens)
    }

    /// How many of this batch's requests fit in the budget at once, taken in arrival order, each
    /// at its final length (prompt and generated tokens): computed from the page geometry.
    public func fitsAtOnce(_ mode: KVMode) -> Int {
        let (perRequest, budget) = need(mode)
        var used = 0, count = 0
        for pages in perRequest {
            guard used + pages <= budget else { break }
            used += pages
            count += 1
        }
        return count
    }

    /// How many requests like these the budget holds at once: its pages over the mean pages a
    /// request needs (more than the batch has, when the whole batch fits).
    public func capacity(_ mode: KVMode) -> Double {
        let (perRequest, budget) = need(mode)
        return Double(budget) / Statistics.mean(perRequest.map(Double.init))
    }

    public var table: DataTable {
        DataTable(
            header: ["mode", "wall (s)", "CPU (s)", "generated tokens/s", "all tokens/s", "TTFT p50 (s)", "TTFT p90 (s)", "TTFT p99 (s)",
                     "per-token p50 (ms)", "per-token p90 (ms)", "per-token p99 (ms)", "KV held (MiB)", "KV minimum (MiB)",
                     "KV waste (%)", "peak RSS (MiB)", "RSS before (MiB)", "most running at once", "fit at once (computed)", "preemptions"],
            rows: runs.map { r in
                [r.mode.label, fixed(r.wallSeconds, 1), fixed(r.cpuSeconds, 1), fixed(r.generatedTokensPerSecond, 1), fixed(r.totalTokensPerSecond, 1),
                 fixed(r.timeToFirstToken.p50, 2), fixed(r.timeToFirstToken.p90, 2), fixed(r.timeToFirstToken.p99, 2),
                 fixed(1000 * r.perTokenLatency.p50, 1), fixed(1000 * r.perTokenLatency.p90, 1), fixed(1000 * r.perTokenLatency.p99, 1),
                 fixed(mib(r.kvBytesInUse)), fixed(mib(r.kvMinimumBytes)), fixed(r.kvWastePercent, 1), fixed(mib(r.peakResidentBytes)), fixed(mib(r.residentBeforeBytes)),
                 String(r.maxRunningSequences), String(fitsAtOnce(r.mode)), String(r.preemptions)]
            })
    }

    public var figure: ChartFigure {
        ChartFigure(
            title: "Mixed batch: \(promptLengths.count) requests, prompts \(promptLengths.min() ?? 0)–\(promptLengths.max() ?? 0) tokens",
            caption: "Same KV budget (\(grouped(budgetTokens)) tokens) for both modes; \(generatedTokens) generated tokens per request",
            panels: [
                LineChart(
                    title: "KV memory held during the batch", x: ChartAxis("time since submission (s)"),
                    y: ChartAxis("KV held (MiB)"),
                    series: runs.map { r in ChartSeries(r.mode.label, r.timeline.map { ($0.time, mib($0.kvBytesInUse)) }) }),
                LineChart(
                    title: "Time to first token per request", x: ChartAxis("prompt tokens"), y: ChartAxis("TTFT (s)"),
                    series: runs.map { r in
                        ChartSeries(r.mode.label, zip(promptLengths, r.requestTimeToFirstToken).sorted { $0.0 < $1.0 }
                            .map { (Double($0.0), $0.1) })
                    }),
                LineChart(
                    title: "Per-token latency percentiles", x: ChartAxis("percentile", includesZero: false),
                    y: ChartAxis("ms between tokens"),
                    series: runs.map { r in
                        ChartSeries(r.mode.label, [(50, 1000 * r.perTokenLatency.p50), (90, 1000 * r.perTokenLatency.p90),
                                                   (99, 1000 * r.perTokenLatency.p99)])
                    }),
            ])
    }

    public func notes(in results: PaperResults) -> String {
        var lines = [
            "- Prompt lengths (seeded): \(promptLengths.map(String.init).joined(separator: ", ")); "
                + "\(grouped(promptLengths.reduce(0, +))) prompt tokens in all.",
            "- Fit in the \(grouped(budgetTokens))-token budget, from the page geometry: paged \(fitsAtOnce(.paged)) of "
                + "\(promptLengths.count) at once (room for ≈\(fixed(capacity(.paged), 0)) such requests); contiguous "
                + "\(fitsAtOnce(.contiguous)) (\(budgetTokens / contiguousPageTokens) buffers of \(grouped(contiguousPageTokens)) tokens).",
        ]
        if let paged = runs.first(where: { $0.mode == .paged }), let contiguous = runs.first(where: { $0.mode == .contiguous }) {
            lines.append(
                "- Observed: paged ran \(paged.maxRunningSequences) at once, contiguous \(contiguous.maxRunningSequences); "
                    + "generated tokens/s paged ÷ contiguous = ×\(fixed(paged.generatedTokensPerSecond / contiguous.generatedTokensPerSecond, 2)); "
                    + "KV waste at the fullest moment \(fixed(paged.kvWastePercent, 1)) % paged vs "
                    + "\(fixed(contiguous.kvWastePercent, 1)) % contiguous; TTFT p90 \(fixed(paged.timeToFirstToken.p90, 1)) s vs "
                    + "\(fixed(contiguous.timeToFirstToken.p90, 1)) s; CPU time \(fixed(paged.cpuSeconds, 0)) s vs \(fixed(contiguous.cpuSeconds, 0)) s.")
            let generatedShare = Double(paged.generatedTokens) / Double(paged.generatedTokens + paged.promptTokens)
            lines.append(
                "- Generated tokens are \(fixed(100 * generatedShare, 1)) % of the tokens computed: both modes prefill the same "
                    + "\(grouped(paged.promptTokens)) prompt tokens, so the batch's wall time and throughput are mostly prefill, which "
                    + "paging does not change.")
            if paged.perTokenLatency.p50 > 3 * contiguous.perTokenLatency.p50 {
                lines.append(
                    "- Per-token latency is far higher paged (p50 \(fixed(1000 * paged.perTokenLatency.p50, 0)) ms against "
                        + "\(fixed(1000 * contiguous.perTokenLatency.p50, 0)) ms) because paging admits the whole batch at once: every "
                        + "decode step then shares its step with the other prompts' prefill chunks (up to the engine's token budget per "
                        + "step), until all prompts are in. The contiguous engine decodes its few admitted sequences mostly in steps of "
                        + "their own, and makes the rest wait in the queue instead (its TTFT).")
            }
            if contiguous.maxRunningSequences < fitsAtOnce(.contiguous) {
                lines.append(
                    "- Contiguous ran fewer sequences at once (\(contiguous.maxRunningSequences)) than its budget holds buffers "
                        + "(\(fitsAtOnce(.contiguous))): the scheduler admits a sequence only while one free page per running sequence stays "
                        + "in reserve for their next tokens (`Scheduler.admitWaiting`), and in contiguous mode a page is a whole "
                        + "\(grouped(contiguousPageTokens))-token buffer that never needs a successor. That reserve costs the baseline part "
                        + "of its concurrency here, so this run flatters paging; the computed fit above is what a contiguous engine "
                        + "without the reserve would admit.")
            }
        }
        return lines.joined(separator: "\n")
    }
}
