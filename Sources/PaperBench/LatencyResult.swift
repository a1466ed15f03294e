import Engine
import Foundation

/// The length sweep's latencies: time to first token and per-token decode latency per mode.
public struct LatencyResult: ExperimentResult, Hashable {
    public var points: [LengthPoint]

    public var table: DataTable {
        DataTable(
            header: ["mode", "prompt tokens", "TTFT (s)", "decode median (ms/token)", "decode mean (ms/token)", "decode (tokens/s)",
                     "prefill CPU (s)", "decode CPU median (ms/token)", "generated tokens"],
            rows: points.map { p in
                [p.mode.label, String(p.promptTokens), fixed(p.timeToFirstTokenSeconds, 3), fixed(1000 * p.decodeSecondsPerToken, 2),
                 fixed(1000 * p.decodeMeanSecondsPerToken, 2), fixed(1 / p.decodeSecondsPerToken, 1), fixed(p.prefillCPUSeconds, 3),
                 fixed(1000 * p.decodeCPUSecondsPerToken, 2), String(p.generatedTokens)]
            })
    }

    /// The modes in the order they were run.
    var modes: [KVMode] { points.map(\.mode).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }

    func points(_ mode: KVMode) -> [LengthPoint] { points.filter { $0.mode == mode }.sorted { $0.promptTokens < $1.promptTokens } }

    public var figure: ChartFigure {
        ChartFigure(
            title: "Latency against sequence length: paged vs contiguous vs no KV cache",
            caption: "One request per point on a fresh engine, greedy; log-log axes",
            panels: [
                LineChart(
                    title: "Time to first token (prefill)", x: ChartAxis("prompt tokens", scale: .log2),
                    y: ChartAxis("TTFT (s)", scale: .log10),
                    series: modes.map { m in ChartSeries(m.label, points(m).map { (Double($0.promptTokens), $0.timeToFirstTokenSeconds) }) }),
                LineChart(
                    title: "Per-token decode latency (median gap)", x: ChartAxis("context tokens (prompt)", scale: .log2),
                    y: ChartAxis("ms per generated token", scale: .log10),
                    series: modes.map { m in
                        ChartSeries(m.label, points(m).map { (Double($0.promptTokens), 1000 * $0.decodeSecondsPerToken) })
                    }),
            ])
    }

    /// How much `value` grows per doubling of the prompt, from the shortest to the longest prompt.
    func growthPerDoubling(_ mode: KVMode, _ value: (LengthPoint) -> Double) -> Double? {
        let p = points(mode)
        guard let first = p.first, let last = p.last, last.promptTokens > first.promptTokens,
            value(first) > 0, value(last) > 0
        else { return nil }
        let doublings = log2(Double(last.promptTokens) / Double(first.promptTokens))
        return pow(value(last) / value(first), 1 / doublings)
    }

    /// Paged per-token decode time over contiguous (wall or CPU), averaged over the lengths both
    /// measured.
    func pagedOverContiguousDecode(cpu: Bool) -> Double? {
        let time: (LengthPoint) -> Double = cpu ? { $0.decodeCPUSecondsPerToken } : { $0.decodeSecondsPerToken }
        let pairs = points(.paged).compactMap { p in
            points(.contiguous).first { $0.promptTokens == p.promptTokens }.map { time(p) / time($0) }
        }.filter(\.isFinite)
        return pairs.isEmpty ? nil : Statistics.mean(pairs)
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        for mode in modes {
            let p = points(mode)
            guard let first = p.first, let last = p.last, p.count > 1 else { continue }
            let decode = growthPerDoubling(mode) { $0.decodeSecondsPerToken }
            let ttft = growthPerDoubling(mode) { $0.timeToFirstTokenSeconds }
            lines.append(
                "- **\(mode.label)**: from \(first.promptTokens) to \(last.promptTokens) tokens the per-token decode latency goes "
                    + "\(fixed(1000 * first.decodeSecondsPerToken)) → \(fixed(1000 * last.decodeSecondsPerToken)) ms "
                    + "(×\(fixed(last.decodeSecondsPerToken / first.decodeSecondsPerToken, 2)); ×\(fixed(decode ?? .nan, 2)) per doubling), "
                    + "TTFT \(fixed(first.timeToFirstTokenSeconds, 2)) → \(fixed(last.timeToFirstTokenSeconds, 2)) s "
                    + "(×\(fixed(ttft ?? .nan, 2)) per doubling).")
        }
        if let wall = pagedOverContiguousDecode(cpu: false), let cpu = pagedOverContiguousDecode(cpu: true) {
            lines.append(
                "- Paged decode takes ×\(fixed(wall, 3)) the wall time and ×\(fixed(cpu, 3)) the CPU time of contiguous decode, "
                    + "averaged over the lengths: the cost of reading keys and values through a page table.")
        }
        return lines.joined(separator: "\n")
    }
}
