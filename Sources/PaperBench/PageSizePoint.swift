/// One page size of the sweep: the decode step's attention time and the KV waste of the mixed
/// batch with pages that size.
public struct PageSizePoint: Sendable, Hashable, Codable {
    public var tokensPerPage: Int
    /// Median and 90th percentile of the attention time of one decode step (block mask and every
    /// layer) for the whole batch.
    public var attentionStepSeconds: Double
    public var attentionStepP90Seconds: Double
    /// Median CPU seconds of the same steps (all the kernel's threads together).
    public var attentionStepCPUSeconds: Double
    /// KV memory held beyond the minimum for the batch at its final lengths, in percent of the
    /// bytes held, and in percent of the minimum.
    public var kvWastePercent: Double
    public var kvOverheadPercent: Double
    /// Bytes of the batch's page tables (4 per page).
    public var pageTableBytes: Int
    /// End-to-end median gap between tokens of a smaller batch decoding on the engine with this
    /// page size (nil when not measured).
    public var endToEndPerTokenSeconds: Double?
}
