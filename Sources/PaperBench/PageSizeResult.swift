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
            header: ["tokens per page", "decode attention p50 (ms/step)", "p90 (ms/step)", "CPU p50 (ms/step)", "CPU vs contiguous",
                     "KV waste (% of held)", "KV overhead (% of minimum)", "page tables (bytes)", "end-to-end decode (ms/token)"],
            rows: points.map { p in
                [p.tokensPerPage == contiguousPageTokens ? "contiguous (\(p.tokensPerPage))" : String(p.tokensPerPage),
                 fixed(1000 * p.attentionStepSeconds, 2), fixed(1000 * p.attentionStepP90Seconds, 2), fixed(1000 * p.attentionStepCPUSeconds, 2),
                 fixed(p.attentionStepCPUSeconds / (contiguous?.attentionStepCPUSeconds ?? .nan), 3) + "×",
                 fixed(p.kvWastePercent, 2), fixed(p.kvOverheadPercent, 2), String(p.pageTableBytes),
                 fixed(1000 * (p.endToEndPerTokenSeconds ?? .nan), 1)]
            })
    }

    /// A line across the page sizes at the contiguous layout's value (its reference).
    private func reference(_ value: (PageSizePoint) -> Double?) -> [ChartSeries] {
        let sizes = paged.map { Double($0.tokensPerPage) }
        guard let c = contiguous, let v = value(c), let low = sizes.min(), let high = sizes.max() else { return [] }
        return [ChartSeries("contiguous (reference)", [(low, v), (high, v)])]
    }

    public var figure: ChartFigure {
        let x = ChartAxis("tokens per page", scale: .log2)
        func line(_ value: @escaping (PageSizePoint) -> Double?) -> [ChartSeries] {
            [ChartSeries("paged", paged.map { (Double($0.tokensPerPage), value($0) ?? .nan) })] + reference(value)
        }
        var panels = [
            LineChart(
                title: "Decode attention per step: wall", x: x, y: ChartAxis("ms per step (\(layerCount) layers)"),
                series: line { 1000 * $0.attentionStepSeconds }),
            LineChart(
                title: "Decode attention per step: CPU", x: x, y: ChartAxis("CPU ms per step, all threads"),
                series: line { 1000 * $0.attentionStepCPUSeconds }),
            LineChart(
                title: "KV waste of the mixed batch", x: x, y: ChartAxis("waste (% of KV held)"),
                series: [ChartSeries("paged", paged.map { (Double($0.tokensPerPage), $0.kvWastePercent) })]),
        ]
        if endToEndPromptLengths != nil {
            panels.append(LineChart(
                title: "End-to-end decode, smaller batch", x: x, y: ChartAxis("ms between tokens"),
                series: [ChartSeries("paged", paged.map { (Double($0.tokensPerPage), 1000 * ($0.endToEndPerTokenSeconds ?? .nan)) })]))
        }
        return ChartFigure(
            title: "Page size: decode attention time and KV waste",
            caption: "\(sequenceLengths.count) sequences, \(grouped(sequenceLengths.reduce(0, +))) tokens (the mixed batch); attention kernel alone",
            panels: panels)
    }

    /// The slowest over the fastest paged CPU time, minus one: how much the page size moves it.
    var cpuSpread: Double? {
        let times = paged.map(\.attentionStepCPUSeconds).filter(\.isFinite)
        guard let low = times.min(), let high = times.max(), low > 0 else { return nil }
        return high / low - 1
    }

    /// The median step's p90 over its p50, minus one, at worst: how much repeated steps of one
    /// size varied on this machine.
    var repeatNoise: Double? {
        points.map { $0.attentionStepP90Seconds / $0.attentionStepSeconds - 1 }.filter(\.isFinite).max()
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        if let spread = cpuSpread, let fastest = paged.min(by: { $0.attentionStepCPUSeconds < $1.attentionStepCPUSeconds }),
            let slowest = paged.max(by: { $0.attentionStepCPUSeconds < $1.attentionStepCPUSeconds })
        {
            lines.append(
                "- Page size moves the decode attention's CPU time by \(fixed(100 * spread, 0)) % between the fastest "
                    + "(\(fastest.tokensPerPage) tokens, \(fixed(1000 * fastest.attentionStepCPUSeconds, 1)) ms) and the slowest "
                    + "(\(slowest.tokensPerPage) tokens, \(fixed(1000 * slowest.attentionStepCPUSeconds, 1)) ms)"
                    + (contiguous.map { "; the contiguous layout takes \(fixed(1000 * $0.attentionStepCPUSeconds, 1)) ms" } ?? "")
                    + (repeatNoise.map { ". Repeated steps of one size varied by up to \(fixed(100 * $0, 0)) % (p90 over p50, wall), so smaller differences are noise." } ?? "."))
        }
        if let sixteen = paged.first(where: { $0.tokensPerPage == 16 }),
            let step = results.mixedBatch?.result?.runs.first(where: { $0.mode == .paged && $0.tokensPerPage == 16 })?.perTokenLatency.p50
        {
            lines.append(
                "- Estimated attention share of a decode step of the mixed batch: \(fixed(1000 * sixteen.attentionStepSeconds, 1)) ms of "
                    + "attention (this kernel timing, 16-token pages) in a median step of \(fixed(1000 * step, 1)) ms (the mixed batch, "
                    + "paged) ≈ \(fixed(100 * sixteen.attentionStepSeconds / step, 0)) %; the rest is mostly the weight matrices, which "
                    + "page size does not touch.")
        }
        if endToEndPromptLengths == nil {
            lines.append(
                "- End-to-end decode at each page size was not run at this scale: each run needs the batch's prefill again, and "
                    + "attention (timed above) is the only part of a step that reads pages.")
        }
        return lines.joined(separator: "\n")
    }
}
