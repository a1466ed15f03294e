import Engine
import Foundation

/// Throughput of one long sequence, paged against contiguous.
public struct LongGenerationResult: ExperimentResult, Hashable {
    /// The length asked for, and the length the model's context allows.
    public var targetLength: Int
    public var reachableLength: Int
    public var contextLength: Int
    public var windowTokens: Int
    public var runs: [LongGenerationRun]

    public var table: DataTable {
        DataTable(
            header: ["mode", "prompt tokens", "generated tokens", "final length", "tokens/s over the final \(windowTokens)",
                     "tokens/s over the first \(windowTokens)", "median gap, final \(windowTokens) (ms)", "median gap, first \(windowTokens) (ms)",
                     "CPU ms/token, final \(windowTokens)", "CPU ms/token, first \(windowTokens)", "wall (s)", "KV held at the end (MiB)", "KV minimum (MiB)",
                     "peak RSS (MiB)", "finish"],
            rows: runs.map { r in
                [r.mode.label, String(r.promptTokens), String(r.generatedTokens), String(r.promptTokens + r.generatedTokens),
                 fixed(r.finalWindowTokensPerSecond, 1), fixed(r.windows.first?.tokensPerSecond ?? .nan, 1),
                 fixed(r.windows.last?.medianGapMilliseconds ?? .nan, 1), fixed(r.windows.first?.medianGapMilliseconds ?? .nan, 1),
                 fixed(r.windows.last?.cpuMillisecondsPerToken ?? .nan, 1), fixed(r.windows.first?.cpuMillisecondsPerToken ?? .nan, 1),
                 fixed(r.wallSeconds, 1),
                 fixed(mib(r.kvBytesInUse)), fixed(mib(r.kvMinimumBytes)), fixed(mib(r.peakResidentBytes)), r.finishReason?.rawValue ?? "–"]
            })
    }

    public var figure: ChartFigure {
        ChartFigure(
            title: "Long generation: decode throughput as one sequence grows",
            caption: "Greedy, stop tokens disabled; tokens per second over each window of \(windowTokens) generated tokens",
            panels: [
                LineChart(
                    title: "Decode throughput (wall clock)", x: ChartAxis("sequence length (tokens)"), y: ChartAxis("generated tokens/s"),
                    series: runs.map { r in ChartSeries(r.mode.label, r.windows.map { (Double($0.endLength), $0.tokensPerSecond) }) }),
                LineChart(
                    title: "Median gap between tokens", x: ChartAxis("sequence length (tokens)"), y: ChartAxis("ms per generated token"),
                    series: runs.map { r in ChartSeries(r.mode.label, r.windows.map { (Double($0.endLength), $0.medianGapMilliseconds) }) }),
                LineChart(
                    title: "CPU time per token (median)", x: ChartAxis("sequence length (tokens)"), y: ChartAxis("CPU ms per generated token"),
                    series: runs.map { r in ChartSeries(r.mode.label, r.windows.map { (Double($0.endLength), $0.cpuMillisecondsPerToken) }) }),
            ])
    }

    /// Paged over contiguous median gap over the final window.
    func medianRatio(_ paged: LongGenerationRun, _ contiguous: LongGenerationRun) -> Double? {
        guard let p = paged.windows.last?.medianGapMilliseconds, let c = contiguous.windows.last?.medianGapMilliseconds else { return nil }
        return p / c
    }

    /// Paged over contiguous CPU time per token over the final window.
    func cpuRatio(_ paged: LongGenerationRun, _ contiguous: LongGenerationRun) -> Double? {
        guard let p = paged.windows.last?.cpuMillisecondsPerToken, let c = contiguous.windows.last?.cpuMillisecondsPerToken else { return nil }
        return p / c
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        if let paged = runs.first(where: { $0.mode == .paged }), let contiguous = runs.first(where: { $0.mode == .contiguous }) {
            lines.append(
                "- Over the final \(windowTokens) tokens: paged \(fixed(paged.finalWindowTokensPerSecond)) tokens/s, contiguous "
                    + "\(fixed(contiguous.finalWindowTokensPerSecond)) (paged ÷ contiguous = "
                    + "×\(fixed(paged.finalWindowTokensPerSecond / contiguous.finalWindowTokensPerSecond, 3))); median gap paged ÷ "
                    + "contiguous ×\(fixed(medianRatio(paged, contiguous) ?? .nan, 3)), median CPU time per token ×"
                    + "\(fixed(cpuRatio(paged, contiguous) ?? .nan, 3)).")
            let ratios = zip(paged.windows, contiguous.windows).map { $0.tokensPerSecond / $1.tokensPerSecond }.filter(\.isFinite)
            if let low = ratios.min(), let high = ratios.max(), high / low > 1.25 {
                lines.append(
                    "- The wall-clock ratio moves from ×\(fixed(low, 2)) to ×\(fixed(high, 2)) between windows: the two runs happened "
                        + "minutes apart and the load of this shared machine changed in between. Median gaps and CPU time leave out "
                        + "most of what other processes took, but not all: the kernels' threads wait for each other by spinning, "
                        + "and spin longer while another process holds a core.")
            }
            lines.append(
                "- KV held at the end: paged \(mebibytes(paged.kvBytesInUse)) for a minimum of \(mebibytes(paged.kvMinimumBytes)); "
                    + "contiguous \(mebibytes(contiguous.kvBytesInUse)) (its whole buffer, from the first token on).")
        }
        if targetLength > reachableLength {
            lines.append(
                "- The target of \(grouped(targetLength)) tokens is past the model's \(grouped(contextLength))-token context: the "
                    + "sequence stops at \(grouped(reachableLength)) (the engine ends a sequence when its context is full).")
        }
        return lines.joined(separator: "\n")
    }
}
