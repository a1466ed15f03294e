/// The 50th, 90th and 99th percentiles of a set of latencies, in seconds, and how many there
/// were (the 99th of 16 values is close to the largest).
public struct Percentiles: Sendable, Hashable, Codable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var mean: Double
    public var count: Int

    public init(_ values: [Double]) {
        p50 = Statistics.percentile(values, 50)
        p90 = Statistics.percentile(values, 90)
        p99 = Statistics.percentile(values, 99)
        mean = Statistics.mean(values)
        count = values.count
    }
}
