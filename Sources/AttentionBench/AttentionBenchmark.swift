import FlexAttention
import Kernels
import PagedKVCache

/// The attention benchmark behind `pagedflex bench attention`: decode and prefill over paged KV,
/// each shape timed alternately against the same kernel over contiguous KV, plus the machine's
/// memory bandwidth measured in the same run. The CLI only formats or saves the report.
///
/// ```swift
/// let report = try AttentionBenchmark.run(AttentionBenchmarkConfiguration()) { print($0) }
/// print(report.table())
/// try JSONEncoder().encode(report).write(to: url)  // each result has `pagedOverContiguousRatio`
/// ```
public enum AttentionBenchmark {
    /// Runs every shape of `configuration`; `progress` gets a line per finished shape.
    public static func run(
        _ configuration: AttentionBenchmarkConfiguration, pool: ThreadPool = .shared,
        progress: (String) -> Void = { _ in }
    ) throws -> AttentionBenchmarkReport {
        var report = AttentionBenchmarkReport(
            threads: pool.threadCount, lastLevelCacheBytes: CacheInfo.lastLevelCacheBytes(), bandwidth: nil, results: [])
        if configuration.bandwidthArrayBytes > 0 {
            let bandwidth = MemoryBandwidth.measure(arrayBytes: configuration.bandwidthArrayBytes, pool: pool)
            report.bandwidth = bandwidth
            progress("memory bandwidth (\(bandwidth.threads) threads): copy \(format(bandwidth.copyMedianGBps)) GB/s, "
                     + "read \(format(bandwidth.readMedianGBps)) GB/s (medians)")
        }
        var runner = Runner(configuration: configuration, pool: pool, report: report)
        for elementType in configuration.elementTypes {
            for batchSize in configuration.batchSizes {
                for context in configuration.contexts {
                    try runner.measure(.decode, elementType: elementType, batchSize: batchSize, context: context,
                                       pageSizes: configuration.pageSizes, progress: progress)
                }
            }
            for context in configuration.prefillContexts {
                try runner.measure(.prefill, elementType: elementType, batchSize: 1, context: context,
                                   pageSizes: configuration.prefillPageSizes, progress: progress)
            }
        }
        return runner.report
    }

    static func format(_ x: Double, digits: Int = 2) -> String {
        guard x.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (x * scale).rounded() / scale
        return "\(rounded)"
    }
}
