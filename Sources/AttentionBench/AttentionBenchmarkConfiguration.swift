import FlexAttention
import PagedKVCache

/// What ``AttentionBenchmark`` measures. The defaults are the shapes: SmolLM2's heads (9
/// query heads, 3 KV heads, head size 64; `pagedflex bench attention --model` reads another's), contexts 128 to 32768, batches 1 and 16,
/// pages of 8 to 256 tokens, F32 and F16, decode; and causal prefill of one prompt.
public struct AttentionBenchmarkConfiguration: Sendable, Hashable {
    public var queryHeadCount = 9
    public var kvHeadCount = 3
    public var headSize = 64
    public var contexts = [128, 512, 2048, 8192, 32768]
    public var batchSizes = [1, 16]
    public var pageSizes = [8, 16, 32, 64, 128, 256]
    public var elementTypes: [KVElementType] = [.f32, .f16, .int8]
    /// Prompt lengths of the prefill measurements (batch 1, causal); empty for none.
    public var prefillContexts = [128, 512, 2048]
    /// Page sizes of the prefill measurements.
    public var prefillPageSizes = [16, 128]
    /// Timed repetitions per layout; the paged and contiguous runs alternate within each.
    public var repetitions = 7
    /// Each repetition repeats the call until it lasts about this long.
    public var secondsPerRepetition = 0.05
    /// Shapes whose keys and values (one layout) exceed this are skipped.
    public var maxKVBytes = 1 << 30
    /// The array size of the bandwidth measurement; 0 skips it.
    public var bandwidthArrayBytes = 512 << 20

    public init() {}

    /// A configuration small enough for a test: two contexts, one batch, two page sizes.
    public static var smoke: AttentionBenchmarkConfiguration {
        var configuration = AttentionBenchmarkConfiguration()
        configuration.contexts = [64, 300]
        configuration.batchSizes = [2]
        configuration.pageSizes = [16, 32]
        configuration.elementTypes = [.f32]
        configuration.prefillContexts = [40]
        configuration.prefillPageSizes = [16]
        configuration.repetitions = 2
        configuration.secondsPerRepetition = 0.001
        configuration.bandwidthArrayBytes = 1 << 20
        return configuration
    }
}
