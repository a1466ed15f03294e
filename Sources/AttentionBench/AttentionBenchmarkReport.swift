/// Everything one benchmark run measured. `Codable`: `pagedflex bench attention --json PATH`
/// writes it as it is (each result under `results`, with its `pagedOverContiguousRatio`).
public struct AttentionBenchmarkReport: Codable, Sendable, Hashable {
    public var threads: Int
    public var lastLevelCacheBytes: Int?
    public var bandwidth: MemoryBandwidth?
    public var results: [AttentionBenchmarkResult]

    /// The worst paged/contiguous ratio of decode with pages of at least `minimumPageSize`.
    public func worstDecodeRatio(minimumPageSize: Int = 16) -> Double? {
        results.filter { $0.mode == .decode && $0.pageSize >= minimumPageSize }.map(\.pagedOverContiguousRatio).min()
    }

    /// The worst fraction of the copy bandwidth that decode reaches at contexts of at least
    /// `minimumContext`.
    public func worstDecodeBandwidthFraction(minimumContext: Int = 2048) -> Double? {
        results.filter { $0.mode == .decode && $0.context >= minimumContext }.compactMap(\.bandwidthFractionOfCopy).min()
    }

    /// A fixed-width table, one line per result, and a summary.
    public func table() -> String {
        var lines = [Self.header]
        lines += results.map(Self.line)
        if let bandwidth {
            lines.append("memory bandwidth, \(bandwidth.threads) threads, \(bandwidth.arrayBytes >> 20) MiB arrays: copy "
                + "\(AttentionBenchmark.format(bandwidth.copyMedianGBps)) GB/s (best \(AttentionBenchmark.format(bandwidth.copyBestGBps))), "
                + "read \(AttentionBenchmark.format(bandwidth.readMedianGBps)) GB/s (best \(AttentionBenchmark.format(bandwidth.readBestGBps)))")
        }
        if let ratio = worstDecodeRatio() {
            lines.append("worst decode paged/contiguous ratio, pages >= 16: \(AttentionBenchmark.format(ratio, digits: 3))")
        }
        if let fraction = worstDecodeBandwidthFraction() {
            lines.append("worst decode fraction of copy bandwidth, contexts >= 2048: \(AttentionBenchmark.format(fraction, digits: 3))")
        }
        return lines.joined(separator: "\n")
    }

    static let header = [
        pad("mode", 8), pad("kv", 4), pad("batch", 6), pad("context", 8), pad("page", 5), pad("paged µs", 11),
        pad("contig µs", 11), pad("ratio", 6), pad("GB/s", 7), pad("%copy", 6), pad("%read", 6), pad("GFLOP/s", 8),
        pad("paged cpu", 11), pad("duty", 5), "LLC",
    ].joined(separator: " ")

    /// One result as a table line.
    public static func line(_ r: AttentionBenchmarkResult) -> String {
        let f = AttentionBenchmark.format
        return [
            pad(r.mode.rawValue, 8), pad(r.elementType, 4), pad("\(r.batchSize)", 6), pad("\(r.context)", 8),
            pad("\(r.pageSize)", 5), pad(f(r.pagedMicroseconds, 1), 11), pad(f(r.contiguousMicroseconds, 1), 11),
            pad(f(r.pagedOverContiguousRatio, 3), 6), pad(f(r.pagedGBps, 2), 7),
            pad(r.bandwidthFractionOfCopy.map { f(100 * $0, 0) } ?? "-", 6),
            pad(r.bandwidthFractionOfRead.map { f(100 * $0, 0) } ?? "-", 6), pad(f(r.pagedGFLOPs, 1), 8),
            pad(f(r.pagedCPUMicroseconds, 1), 11), pad(f(r.pagedDuty, 2), 5), r.fitsInLastLevelCache ? "fits" : "DRAM",
        ].joined(separator: " ")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
