import Foundation

/// Time to first token per turn of the growing chat, with the prefix cache on and off.
public struct GrowingChatResult: ExperimentResult, Hashable {
    public var turns: [ChatTurn]
    /// Targets beyond the model's context, not run: the engine refuses a prompt that long.
    public var skippedTargets: [Int]
    public var contextLength: Int
    public var replyTokens: Int
    public var tokensPerPage: Int

    public var table: DataTable {
        DataTable(
            header: ["turn", "context tokens", "served by the prefix cache", "TTFT cache on (s)", "TTFT cache off (s)", "speed-up",
                     "reply tokens"],
            rows: turns.map { t in
                [String(t.turn), String(t.contextTokens), String(t.cachedTokens), fixed(t.timeToFirstTokenCacheOn, 3),
                 fixed(t.timeToFirstTokenCacheOff ?? .nan, 3),
                 t.timeToFirstTokenCacheOff.map { fixed($0 / t.timeToFirstTokenCacheOn, 1) + "×" } ?? "–", String(t.replyTokens)]
            })
    }

    public var figure: ChartFigure {
        ChartFigure(
            title: "Growing chat: the whole conversation resubmitted every turn",
            caption: "Paged KV (\(tokensPerPage)-token pages); time to first token per turn, prefix cache on vs off",
            panels: [
                LineChart(
                    title: "Time to first token per turn", x: ChartAxis("conversation length (tokens)"), y: ChartAxis("TTFT (s)"),
                    series: [
                        ChartSeries("prefix cache off", turns.compactMap { t in t.timeToFirstTokenCacheOff.map { (Double(t.contextTokens), $0) } }),
                        ChartSeries("prefix cache on", turns.map { (Double($0.contextTokens), $0.timeToFirstTokenCacheOn) }),
                    ]),
                LineChart(
                    title: "Prompt tokens computed per turn", x: ChartAxis("conversation length (tokens)"),
                    y: ChartAxis("tokens computed before the first token"),
                    series: [
                        ChartSeries("prefix cache off (the whole conversation)", turns.map { (Double($0.contextTokens), Double($0.contextTokens)) }),
                        ChartSeries("prefix cache on", turns.map { (Double($0.contextTokens), Double($0.contextTokens - $0.cachedTokens)) }),
                    ]),
            ])
    }

    public func notes(in results: PaperResults) -> String {
        var lines: [String] = []
        if let last = turns.last, let off = last.timeToFirstTokenCacheOff {
            lines.append(
                "- At \(grouped(last.contextTokens)) tokens the prefix cache served \(grouped(last.cachedTokens)) of them: TTFT "
                    + "\(fixed(last.timeToFirstTokenCacheOn, 2)) s against \(fixed(off, 2)) s recomputed (×\(fixed(off / last.timeToFirstTokenCacheOn, 1))).")
        }
        if let first = turns.first, let last = turns.last, turns.count > 1 {
            lines.append(
                "- With the cache, a turn costs about what it adds: TTFT \(fixed(first.timeToFirstTokenCacheOn, 2)) s at turn 1, "
                    + "\(fixed(Statistics.median(turns.dropFirst().map(\.timeToFirstTokenCacheOn)), 2)) s the median later turn, "
                    + "\(fixed(last.timeToFirstTokenCacheOn, 2)) s at the last (attention over a longer context is the growth).")
        }
        if let low = skippedTargets.min(), let high = skippedTargets.max() {
            lines.append(
                "- Not run: \(skippedTargets.count) turns from \(grouped(low)) to \(grouped(high)) tokens. The model's context is \(grouped(contextLength)) tokens (its RoPE was trained to that length) and "
                    + "the engine refuses longer prompts rather than extend it; a conversation past that point would need a "
                    + "model with a longer context, or context extension, which this engine does not do.")
        }
        return lines.joined(separator: "\n")
    }
}
