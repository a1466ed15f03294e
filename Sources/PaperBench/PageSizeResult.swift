import Engine
import Foundation

/// Decode attention time and KV waste against page size, with the contiguous layout beside them.
public struct PageSizeResult: ExperimentResult, Hashable {
    /// The mixed batch's sequences at their final lengths.
    public var sequenceLengths: [Int]
    public var layerCount: Int
    public var contiguousPageTokens: Int
    public var repetitions: Int
    /// Prompt lengths of the end-to-end batch (nil when it was not run).
    public var endToEndPromptLengths: [Int]?
    /// One per page size, the contiguous layout last.
    public var points: [PageSizePoint]

    var paged: [PageSizePoint] { points.filter { $0.tokensPerPage != contiguousPageTokens } }
    var contiguous: PageSizePoint? { points.first { $0.tokensPerPage == contiguousPageTokens } }

    public var table: DataTable {
        DataTable(
            header: ["tokens per page", "decode attention p50 (ms/step)", "decode attention p90 (ms/step)", "vs contiguous",
                     "KV waste (% of held)", "KV overhead (% of minimum)", "page tables (bytes)", "end-to-end decode (ms/token)"],
            rows: points.map { p in
                [p.tokensPerPage == contiguousPageTokens ? "contiguous (\(p.tokensPerPage))" : String(p.tokensPerPage),
                 fixed(1000 * p.attentionStepSeconds, 2), fixed(1000 * p.attentionStepP90Seconds, 2),
                 fixed(p.attentionStepSeconds / (contiguous?.attentionStepSeconds ?? .nan), 3) + "×",
                 fixed(p.kvWastePercent, 2), fixed(p.kvOverheadPercent, 2), String(p.pageTableBytes),
                 fixed(1000 * (p.endToEndPerTokenSeconds ?? .nan), 1)]
            })
    }

    public var figure: ChartFigure {
        let x = ChartAxis("tokens per page", scale: .log2)
        let range = paged.map { Double($0.tokensPerPage) }
        var panels = [
            LineChart(
                title: "Decode attention time per step (\(layerCount) layers)", x: x, y: ChartAxis("ms per decode step"),
                series: [ChartSeries("paged", paged.map { (Double($0.tokensPerPage), 1000 * $0.attentionStepSeconds) })]
                    + (contiguous.map { c in
                        [ChartSeries("contiguous (reference)", [range.min() ?? 1, range.max() ?? 1].map { ($0, 1000 * c.attentionStepSeconds) })]
                    } ?? [])),
            LineChart(
                title: "KV waste of the mixed batch", x: x, y: ChartAxis("waste (% of KV held)"),
                series: [ChartSeries("paged", paged.map { (Double($0.tokensPerPage), $0.kvWastePercent) })]),
        ]
        if endToEndPromptLengths != nil {
            panels.append(LineChart(
                title: "End-to-end decode, smaller batch", x: x, y: ChartAxis("ms per token"),
                series: [ChartSeries("paged", paged.map { (Double($0.tokensPerPage), 1000 * ($0.endToEndPerTokenSeconds ?? .nan)) })]
                    + (contiguous.flatMap(\.endToEndPerTokenSeconds).map { c in
                        [ChartSeries("contiguous (reference)", [range.min() ?? 1, range.max() ?? 1].map { ($0, 1000 * c) })]
                    } ?? [])))
        }
        return ChartFigure(
            title: "Page size: decode attention time and KV waste",
            caption: "\(sequenceLengths.count) sequences, \(grouped(sequenceLengths.reduce(0, +))) tokens (the mixed batch); attention kernel alone",
            panels: panels)
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        if let fastest = paged.min(by: { $0.attentionStepSeconds < $1.attentionStepSeconds }),
            let slowest = paged.max(by: { $0.attentionStepSeconds < $1.attentionStepSeconds })
        {
            lines.append(
                "- Decode attention is fastest with \(fastest.tokensPerPage)-token pages (\(fixed(1000 * fastest.attentionStepSeconds, 2)) ms "
                    + "per step) and slowest with \(slowest.tokensPerPage) (\(fixed(1000 * slowest.attentionStepSeconds, 2)) ms)"
                    + (contiguous.map { "; contiguous takes \(fixed(1000 * $0.attentionStepSeconds, 2)) ms." } ?? "."))
        }
        if let sixteen = paged.first(where: { $0.tokensPerPage == 16 }),
            let step = results.mixedBatch?.result?.runs.first(where: { $0.mode == .paged && $0.tokensPerPage == 16 })?.perTokenLatency.p50
        {
            lines.append(
                "- Estimated attention share of a decode step of the mixed batch: \(fixed(1000 * sixteen.attentionStepSeconds, 1)) ms of "
                    + "attention (this kernel timing, 16-token pages) in a median step of \(fixed(1000 * step, 1)) ms (the mixed batch, "
                    + "paged) ≈ \(fixed(100 * sixteen.attentionStepSeconds / step, 0)) %; the rest is the weight matrices, which page size does not touch.")
        }
        if endToEndPromptLengths == nil {
            lines.append(
                "- End-to-end decode at each page size was not run at this scale: each run needs the batch's prefill again, and "
                    + "attention (timed above) is the only part of a step that reads pages.")
        }
        return lines.joined(separator: "\n")
    }
}
