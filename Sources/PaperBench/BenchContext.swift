import Engine
import Foundation
import Llama
import PagedKVCache
import Sampling

/// What the experiments share: the model, the text they read, the plan, progress reporting, and
/// engines made one configuration at a time (each shut down before the next starts, so one run's
/// memory does not count in another's).
public final class BenchContext {
    public let bundle: ModelBundle
    public let plan: PaperPlan
    /// The reference text, and its tokens (repeated by ``tokens(count:offset:)`` to any length).
    public let text: String
    public let textTokens: [Int32]
    /// The llama.cpp results file of `../shared/peers/`, when there is one.
    public let peerResults: URL?
    /// Progress messages, with the time since the bench started.
    public let progress: ProgressLog
    /// The length sweep, run once for the latency and the memory experiments.
    var lengthSweep: [LengthPoint]?

    init(bundle: ModelBundle, plan: PaperPlan, text: String, peerResults: URL?, progress: ProgressLog) {
        self.bundle = bundle
        self.plan = plan
        self.text = text
        self.textTokens = bundle.tokenizer.encode(text, parseSpecialTokens: false)
        self.peerResults = peerResults
        self.progress = progress
    }

    /// `count` tokens of the text from `offset` on, wrapping around to its start as often as
    /// needed (the model sees ordinary prose at every length).
    func tokens(count: Int, offset: Int = 0) -> [Int32] {
        guard !textTokens.isEmpty else { return [] }
        return (0..<count).map { textTokens[(offset + $0) % textTokens.count] }
    }

    /// The model's KV bytes per token (all layers, keys and values, rows of the run's element type).
    var kvBytesPerToken: Int {
        let c = bundle.model.configuration
        // The model's geometry was checked when it loaded, so the layout exists.
        return try! PageLayout(layerCount: c.layerCount, kvHeadCount: c.kvHeadCount, headSize: c.headSize,
                               elementType: plan.kvElementType ?? .f32).bytesPerToken
    }

    /// An engine configuration: `mode`, its page size, a KV budget in tokens, no prefix cache
    /// unless asked (repeated prompts must be computed, not served from the cache).
    func configuration(_ mode: KVMode, tokensPerPage: Int = 16, budgetTokens: Int, prefixCaching: Bool = false) -> EngineConfiguration {
        var c = EngineConfiguration()
        c.kvMode = mode
        c.tokensPerPage = tokensPerPage
        c.kvMemory = .tokens(budgetTokens)
        c.prefixCaching = prefixCaching
        c.activationPrecision = plan.activations ?? .f32
        c.kvElementType = plan.kvElementType ?? .f32
        return c
    }

    /// Runs `body` on a fresh engine of `configuration` and shuts it down after.
    func withEngine<T>(_ configuration: EngineConfiguration, _ body: (Engine) async throws -> T) async throws -> T {
        let engine = try Engine(bundle: bundle, configuration: configuration)
        defer { engine.shutdown() }
        return try await body(engine)
    }

    /// A request of `prompt`, greedy, generating exactly `count` tokens (no stop token ends it)
    /// unless `stopTokens` are given.
    func request(_ prompt: [Int32], generate count: Int, stopTokens: Set<Int32> = []) -> GenerationRequest {
        GenerationRequest(promptTokens: prompt, sampling: .greedy, stop: StopConditions(maxTokens: count, stopTokens: stopTokens))
    }

    /// The longest prompt the engine accepts with room for `generate` tokens.
    func longestPrompt(generating generate: Int) -> Int {
        bundle.model.configuration.contextLength - generate - 1
    }
}
