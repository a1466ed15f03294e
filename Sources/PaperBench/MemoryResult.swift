import Engine
import Foundation

/// KV memory held and process memory per mode and length, against the theoretical minimum.
public struct MemoryResult: ExperimentResult, Hashable {
    public var kvBytesPerToken: Int
    /// The model file (its weights are memory-mapped, so they count in resident memory once read).
    public var modelFileBytes: Int
    /// Tokens of the one page a sequence holds in the contiguous and no-cache modes.
    public var contiguousPageTokens: Int
    /// The process's lifetime peak resident memory when the experiment ended.
    public var processPeakBytes: Int
    public var points: [MemoryPoint]

    var modes: [KVMode] { points.map(\.mode).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
    func points(_ mode: KVMode) -> [MemoryPoint] { points.filter { $0.mode == mode }.sorted { $0.tokens < $1.tokens } }

    /// Peak resident memory over the minimum a process could hold (the weights and the KV
    /// minimum), in percent.
    func processOverheadPercent(_ p: MemoryPoint) -> Double {
        let floor = modelFileBytes + p.kvMinimumBytes
        return floor > 0 ? 100 * (Double(p.peakResidentBytes) / Double(floor) - 1) : .nan
    }

    /// Whether the model has sliding-window layers (the points then carry what its layers can read).
    var hasWindows: Bool { points.contains { $0.kvReachableBytes != nil } }

    public var table: DataTable {
        let windows = hasWindows
        return DataTable(
            header: ["mode", "tokens", "KV minimum (MiB)"] + (windows ? ["KV the layers can read (MiB)"] : [])
                + ["KV held (MiB)", "KV overhead (%)"] + (windows ? ["KV held over what the layers can read (%)"] : [])
                + ["peak RSS (MiB)", "RSS before the run (MiB)", "peak RSS over weights + KV minimum (%)"],
            rows: points.map { p in
                let heldBetweenSteps = p.mode != KVMode.none
                let reachable = windows ? [p.kvReachableBytes.map { fixed(mib($0), 2) } ?? "–"] : []
                let overReachable = windows ? [heldBetweenSteps ? p.kvOverReachablePercent.map { fixed($0, 1) } ?? "–" : "–"] : []
                return [p.mode.label, String(p.tokens), fixed(mib(p.kvMinimumBytes), 2)] + reachable
                    + [heldBetweenSteps ? fixed(mib(p.kvBytesInUse), 2) : "– (within a step only)",
                       heldBetweenSteps ? fixed(p.kvOverheadPercent, 1) : "–"] + overReachable
                    + [fixed(mib(p.peakResidentBytes)), fixed(mib(p.residentBeforeBytes)), fixed(processOverheadPercent(p), 1)]
            })
    }

    public var figure: ChartFigure {
        let minimum = points(modes.first ?? .paged).map { (Double($0.tokens), mib($0.kvMinimumBytes)) }
        let floor = points(modes.first ?? .paged).map { (Double($0.tokens), mib(modelFileBytes + $0.kvMinimumBytes)) }
        return ChartFigure(
            title: "Memory against sequence length: KV held and process peak",
            caption: "KV held = whole pages in the cache's books; minimum = tokens × \(grouped(kvBytesPerToken)) B; RSS peak per run",
            panels: [
                LineChart(
                    title: "KV memory held vs theoretical minimum", x: ChartAxis("tokens in the sequence", scale: .log2),
                    y: ChartAxis("KV memory (MiB)", scale: .log10),
                    series: modes.filter { $0 != KVMode.none }.map { m in
                        ChartSeries(m.label, points(m).map { (Double($0.tokens), mib($0.kvBytesInUse)) })
                    } + [ChartSeries("theoretical minimum", minimum)]
                        + (hasWindows
                            ? [ChartSeries("what the layers can read", points(modes.first ?? .paged).map { (Double($0.tokens), mib($0.kvReachableBytes ?? 0)) })]
                            : [])),
                LineChart(
                    title: "Peak resident memory of the process", x: ChartAxis("tokens in the sequence", scale: .log2),
                    y: ChartAxis("peak RSS (MiB)"),
                    series: modes.map { m in ChartSeries(m.label, points(m).map { (Double($0.tokens), mib($0.peakResidentBytes)) }) }
                        + [ChartSeries("weights file + KV minimum", floor)]),
            ])
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        for mode in modes where mode != KVMode.none {
            let p = points(mode)
            guard let first = p.first, let last = p.last else { continue }
            var line = "- **\(mode.label)**: KV overhead \(fixed(first.kvOverheadPercent, 1)) % at \(first.tokens) tokens, "
                + "\(fixed(last.kvOverheadPercent, 1)) % at \(last.tokens); peak RSS \(mebibytes(first.peakResidentBytes)) → "
                + "\(mebibytes(last.peakResidentBytes))."
            if let over = last.kvOverReachablePercent, let reachable = last.kvReachableBytes {
                line += " At \(last.tokens) tokens it holds \(mebibytes(last.kvBytesInUse)) where the layers can read "
                    + "\(mebibytes(reachable)) (\(fixed(over, 1)) % over) of the \(mebibytes(last.kvMinimumBytes)) all positions take."
            }
            lines.append(line)
        }
        lines.append(
            "- The contiguous and no-cache modes hold one \(grouped(contiguousPageTokens))-token page per sequence "
                + "(\(mebibytes(contiguousPageTokens * kvBytesPerToken))) in the cache's books whatever its length. The page is an "
                + "anonymous mapping the OS backs only where written, so resident memory follows the tokens actually stored: "
                + "the reservation costs budget (it limits how many sequences are admitted) rather than RAM, until a buffer is "
                + "reused by a shorter sequence after a longer one.")
        lines.append("- Model file: \(mebibytes(modelFileBytes)); lifetime peak RSS of the bench process so far: \(mebibytes(processPeakBytes)).")
        return lines.joined(separator: "\n")
    }
}
