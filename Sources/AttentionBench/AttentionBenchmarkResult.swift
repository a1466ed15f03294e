/// The figures of one shape: the paged kernel against the same kernel over contiguous KV,
/// timed alternately in the same repetitions.
public struct AttentionBenchmarkResult: Codable, Sendable, Hashable {
    public enum Mode: String, Codable, Sendable { case decode, prefill }

    public var mode: Mode
    /// `f32` or `f16` (``KVElementType`` raw value).
    public var elementType: String
    public var batchSize: Int
    public var context: Int
    public var pageSize: Int
    /// Median wall time of one call, microseconds.
    public var pagedMicroseconds: Double
    public var contiguousMicroseconds: Double
    /// Median process CPU time of one call divided by the thread count, microseconds: the time
    /// the call took while it had the cores, robust to a busy machine (for one thread; with
    /// more, idle workers spinning between loops count too).
    public var pagedCPUMicroseconds: Double
    public var contiguousCPUMicroseconds: Double
    /// CPU time over threads × wall time of the paged call: below 1 when it waited for cores.
    public var pagedDuty: Double
    /// Paged speed over contiguous speed (contiguous time / paged time), the median over
    /// repetitions of the ratio within each repetition; ≥ 1 means paging costs nothing.
    public var pagedOverContiguousRatio: Double
    /// Bytes of keys and values the call must read.
    public var kvBytes: Int
    /// `kvBytes` over the paged median time, GB/s.
    public var pagedGBps: Double
    /// `pagedGBps` over the run's STREAM copy and read bandwidth (medians); nil without a
    /// bandwidth measurement.
    public var bandwidthFractionOfCopy: Double?
    public var bandwidthFractionOfRead: Double?
    /// Scored (query, key) pairs × heads × 4 × headSize over the paged median time.
    public var pagedGFLOPs: Double
    /// Whether the keys and values fit in the last-level cache (then bandwidth can exceed DRAM's).
    public var fitsInLastLevelCache: Bool
}
