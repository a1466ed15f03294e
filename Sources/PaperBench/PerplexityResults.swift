import Engine
import Foundation

/// Perplexity per KV mode, beside llama.cpp's when measured and the published reference figures.
public struct PerplexityResults: ExperimentResult, Hashable {
    public var textTokens: Int
    public var runs: [PerplexityResult]
    /// CPU seconds of each run, in the order of `runs`.
    public var cpuSeconds: [Double]
    public var peer: PeerPerplexity?
    /// Where llama.cpp's results were looked for.
    public var peerSource: String?

    /// Published facts (`shared/reference/README.md`), on the first 8 windows of 512 of the same
    /// text with the same scoring: the float64 reference computation and llama.cpp 0.3.36.
    public static let referencePerplexity = 24.97343804
    public static let publishedLlamaCppPerplexity = 24.9966
    public static let publishedWindowCount = 8

    public var table: DataTable {
        var rows = runs.enumerated().map { index, r in
            ["PagedFlex, \(r.kvMode) KV (measured)", String(r.windowCount), String(r.predictionCount), fixed(r.perplexity, 8),
             fixed(r.meanNLL, 10), fixed(r.seconds, 1), fixed(index < cpuSeconds.count ? cpuSeconds[index] : .nan, 1)]
        }
        if let peer {
            rows.append(["llama.cpp (measured, peers' results)", peer.windowCount.map(String.init) ?? "–", "–", fixed(peer.perplexity, 4), "–", "–", "–"])
        }
        rows.append(["float64 reference (published)", String(Self.publishedWindowCount), "4088", fixed(Self.referencePerplexity, 8), "3.2178127818", "–", "–"])
        rows.append(["llama.cpp 0.3.36 (published)", String(Self.publishedWindowCount), "4088", fixed(Self.publishedLlamaCppPerplexity, 4), "–", "–", "–"])
        return DataTable(header: ["source", "windows", "predictions", "perplexity", "mean NLL", "wall (s)", "CPU (s)"], rows: rows)
    }

    public var figure: ChartFigure {
        ChartFigure(
            title: "Perplexity: per-window mean negative log-likelihood",
            caption: "Reference text, non-overlapping windows of \(runs.first?.window ?? 0) tokens; lines on top of each other mean identical numerics",
            panels: [
                LineChart(
                    title: "Mean NLL per window", x: ChartAxis("window", includesZero: false), y: ChartAxis("mean NLL (nats)", includesZero: false),
                    series: runs.map { r in
                        ChartSeries("\(r.kvMode) (ppl \(fixed(r.perplexity, 4)))", r.perWindowMeanNLL.enumerated().map { (Double($0.offset + 1), $0.element) })
                    })
            ])
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        if let paged = runs.first(where: { $0.kvMode == .paged }), let contiguous = runs.first(where: { $0.kvMode == .contiguous }) {
            let same = paged.perWindowMeanNLL == contiguous.perWindowMeanNLL
            lines.append(
                "- Paged \(fixed(paged.perplexity, 8)) vs contiguous \(fixed(contiguous.perplexity, 8)): "
                    + (same ? "identical in every window, bit for bit (the kernel reads the same positions in the same order whatever the page size)."
                        : "difference \(String(format: "%.3g", paged.perplexity - contiguous.perplexity))."))
            if paged.windowCount == Self.publishedWindowCount {
                lines.append(
                    "- Against the float64 reference on the same \(Self.publishedWindowCount) windows: relative difference "
                        + String(format: "%.2g", abs(paged.perplexity / Self.referencePerplexity - 1)) + ".")
            }
        }
        if let peer {
            lines.append("- llama.cpp measured on this machine (\(peer.source)): \(fixed(peer.perplexity, 4))"
                + (peer.windowCount.map { " over \($0) windows" } ?? "") + ".")
        } else {
            lines.append("- llama.cpp was not measured in this run: no `perplexity` entry in " + (peerSource.map { "`\($0)`" } ?? "the peers' results")
                + " (run `../shared/peers/llamacpp_bench.py` to add it). The published figures above are from `shared/reference/README.md`.")
        }
        return lines.joined(separator: "\n")
    }
}
