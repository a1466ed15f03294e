import Kernels
import PagedKVCache
/// Every experiment's parameters for one run of the bench, at one of three scales. Recorded in
/// `results.json`, so a report says exactly what it measured.
public struct PaperPlan: Sendable, Hashable, Codable {
    /// `quick`, `default` or `full` (or `custom` for a hand-made plan).
    public var scale: String
    /// Seeds the mixed batch's lengths (sampling is greedy everywhere, so nothing else is random).
    public var seed: UInt64
    public var latency: LatencyExperiment
    public var mixedBatch: MixedBatchExperiment
    public var growingChat: GrowingChatExperiment
    public var pageSizes: PageSizeExperiment
    public var longGeneration: LongGenerationExperiment
    public var perplexity: PerplexityExperiment
    /// The keys of the experiments this run runs (``PaperBench/experimentKeys``), nil for all.
    public var experiments: [String]?
    /// The activations of every engine of the run: nil (as in results written before there was
    /// a choice) is the default, exact fp32.
    public var activations: ActivationPrecision?
    /// The KV element type of every engine of the run: nil (results written before there was a
    /// choice) is f32.
    public var kvElementType: KVElementType?

    /// Whether the experiment of `key` is part of this run.
    public func runs(_ key: String) -> Bool { experiments?.contains(key) ?? true }

    public init(
        scale: String, seed: UInt64 = 2025, latency: LatencyExperiment, mixedBatch: MixedBatchExperiment,
        growingChat: GrowingChatExperiment, pageSizes: PageSizeExperiment, longGeneration: LongGenerationExperiment,
        perplexity: PerplexityExperiment, experiments: [String]? = nil, activations: ActivationPrecision? = nil,
        kvElementType: KVElementType? = nil
    ) {
        self.scale = scale
        self.seed = seed
        self.latency = latency
        self.mixedBatch = mixedBatch
        self.growingChat = growingChat
        self.pageSizes = pageSizes
        self.longGeneration = longGeneration
        self.perplexity = perplexity
        self.experiments = experiments
        self.activations = activations
        self.kvElementType = kvElementType
    }

    /// Under 10 minutes on two cores: shorter lengths and batches, 8 perplexity windows.
    public static let quick = PaperPlan(
        scale: "quick",
        latency: LatencyExperiment(promptLengths: [128, 256, 512, 1024], decodeTokens: 16, noCacheDecodeTokens: 2),
        mixedBatch: MixedBatchExperiment(shortestPrompt: 64, longestPrompt: 512),
        growingChat: GrowingChatExperiment(firstTurnTokens: 512, finalTokens: 2048, turnTokens: 256),
        pageSizes: PageSizeExperiment(repetitions: 5),
        longGeneration: LongGenerationExperiment(targetLength: 1024),
        perplexity: PerplexityExperiment(windowCount: 8))

    /// The defaults, under 30 minutes on two cores.
    public static let standard = PaperPlan(
        scale: "default",
        latency: LatencyExperiment(promptLengths: [128, 256, 512, 1024, 2048], decodeTokens: 32, noCacheDecodeTokens: 2),
        mixedBatch: MixedBatchExperiment(shortestPrompt: 128, longestPrompt: 2048),
        growingChat: GrowingChatExperiment(firstTurnTokens: 1024, finalTokens: 8192, turnTokens: 512),
        pageSizes: PageSizeExperiment(repetitions: 10, endToEndLongestPrompt: 128, endToEndShortestPrompt: 32),
        longGeneration: LongGenerationExperiment(targetLength: 4096),
        perplexity: PerplexityExperiment())

    /// The paper's scale where the model allows it: lengths to 8192, the mixed batch over
    /// 128…8192, the chat to 32k and the generation to 100k tokens (both stop at the model's
    /// 8,192-token context, and the report says so).
    public static let full = PaperPlan(
        scale: "full",
        latency: LatencyExperiment(
            promptLengths: [128, 256, 512, 1024, 2048, 4096, 8192], decodeTokens: 32, noCacheDecodeTokens: 3),
        mixedBatch: MixedBatchExperiment(shortestPrompt: 128, longestPrompt: 8192, budgetTokens: 65536),
        growingChat: GrowingChatExperiment(firstTurnTokens: 1024, finalTokens: 32768, turnTokens: 512),
        pageSizes: PageSizeExperiment(repetitions: 10, endToEndLongestPrompt: 2048, endToEndShortestPrompt: 128),
        longGeneration: LongGenerationExperiment(targetLength: 100_000),
        perplexity: PerplexityExperiment())

    /// The long-context scenarios for a model whose context reaches 32k tokens (Gemma 3): the
    /// latency and memory curves to 32,768 tokens (the no-cache mode to 4,096: each of its tokens
    /// recomputes the whole sequence) and the growing chat from 1k to 32k, where released
    /// sliding-window pages make the paged cache's advantage largest. The other experiments are
    /// not part of it (they keep the default scale's parameters, for `--experiments`); lengths
    /// stop at the model's context.
    public static let long: PaperPlan = {
        var plan = standard
        plan.scale = "long"
        plan.latency = LatencyExperiment(
            promptLengths: [512, 1024, 2048, 4096, 8192, 16384, 32768], decodeTokens: 16, noCacheDecodeTokens: 2,
            noCacheLongestPrompt: 4096)
        plan.growingChat = GrowingChatExperiment(firstTurnTokens: 1024, finalTokens: 32768, turnTokens: 1024)
        plan.experiments = [LatencyExperiment.key, MemoryExperiment.key, GrowingChatExperiment.key]
        return plan
    }()
}
