import Engine
import Foundation
import PagedKVCache
import Sampling
import Testing
import TestSupport

/// The engine on the real model: the reference greedy continuations through every KV mode and
/// page size, batch invariance, prefix caching, preemption under a tiny budget, cancellation and
/// leaks, and clear errors.
@Suite(.enabled(if: RealModel.shouldRun), .serialized)
struct EngineRealModelTests {
    @Test(arguments: [
        (KVMode.paged, 16), (.paged, 1), (.paged, 8), (.paged, 64), (.paged, 256), (.contiguous, 16), (.none, 16),
    ])
    func greedyContinuationsMatchTheReferenceInEveryMode(mode: KVMode, pageSize: Int) async throws {
        let bundle = try Bundle.load()
        let reference = try ReferenceFile.load()
        let engine = try Engine(bundle: bundle, configuration: configuration(mode, pageSize: pageSize))
        defer { engine.shutdown() }
        // No sliding-window layers: one layer group of all 30 layers, nothing to give back.
        #expect(engine.layerGroups == .single(layerCount: 30) && engine.pageLayout.layerCount == 30)
        for prompt in reference.prompts {
            let tokens = try await engine.tokens(for: greedy(prompt.ids, count: prompt.greedy.ids.count))
            #expect(tokens[0] == prompt.greedy.ids, "\(mode) \(pageSize): \(prompt.name)")
        }
        let usage = try await engine.idleUsage()
        #expect(usage.usedPageCount == 0, "pages leaked: \(usage)")
    }

    @Test func encodingMatchesTheReferenceAndTheChatTemplate() throws {
        let bundle = try Bundle.load()
        let reference = try ReferenceFile.load()
        for prompt in reference.prompts { #expect(bundle.tokenizer.encode(prompt.prompt) == prompt.ids, "\(prompt.name)") }
        let chat = try #require(reference.prompts.first { $0.name == "chatml_paged_attention" })
        #expect(bundle.encode(prompt: "What is paged attention?", chat: true) == chat.ids)
    }

    /// A request's greedy tokens are the same alone and inside a batch of 16 of other lengths.
    @Test func batchInvariance() async throws {
        let bundle = try Bundle.load()
        let engine = try Engine(bundle: bundle, configuration: configuration(memory: .tokens(16384), batchTokens: 256))
        defer { engine.shutdown() }
        var rng = SeededRandom(seed: 16)
        let text = try String(contentsOf: RealModel.referenceDirectory.appendingPathComponent("GPL-3.txt"), encoding: .utf8)
        let corpus = bundle.tokenizer.encode(text)
        let prompts: [[Int32]] = (0..<16).map { i in
            let length = Int.random(in: 20...300, using: &rng)
            let start = Int.random(in: 0..<(corpus.count - length), using: &rng)
            return Array(corpus[start..<start + length]) + [Int32(i)]
        }
        var alone: [[Int32]] = []
        for p in prompts.prefix(3) { alone.append(try await engine.tokens(for: greedy(p, count: 12))[0]) }
        let together = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, p) in prompts.enumerated() { group.addTask { (i, try await engine.tokens(for: greedy(p, count: 12))[0]) } }
            var all = [[Int32]](repeating: [], count: prompts.count)
            for try await (i, t) in group { all[i] = t }
            return all
        }
        for i in 0..<3 { #expect(together[i] == alone[i], "prompt \(i)") }
        let usage = try await engine.idleUsage()
        #expect(usage.usedPageCount == 0, "pages leaked: \(usage)")
    }

    /// A batch's greedy tokens are the same whether the output product finds their argmax
    /// through its 5-bit shadow or computes every logit, in fp32 and 8-bit activations; and the
    /// shadow computes a small share of the output rows (its exactness is checked row by row in
    /// KernelsTests).
    @Test(arguments: [false, true])
    func greedyTokensDoNotDependOnTheArgmaxShadow(q8: Bool) async throws {
        let bundle = try Bundle.load()
        let prompts = try ReferenceFile.load().prompts.map(\.ids)
        let full = try await greedyBatch(bundle, prompts: prompts, count: 40, q8: q8, shadow: false)
        let shadowed = try await greedyBatch(bundle, prompts: prompts, count: 40, q8: q8, shadow: true)
        #expect(shadowed.tokens == full.tokens, "q8 \(q8)")
        #expect(full.computedShare == 0)
        if bundle.model.outputShadow != nil {
            #expect(shadowed.computedShare > 0 && shadowed.computedShare < 0.1, "q8 \(q8): \(shadowed.computedShare) of the rows")
        } else {
            #expect(shadowed.computedShare == 0, "the portable path has no shadow")
        }
    }

    /// Top-k sampling (k = 40, seeded) draws the same tokens through the shadow, which computes
    /// only the rows that can be among a token's 40 largest logits.
    @Test func topKSamplesDoNotDependOnTheArgmaxShadow() async throws {
        let bundle = try Bundle.load()
        let prompts = try ReferenceFile.load().prompts.map(\.ids)
        let sampling = SamplingParameters(temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed: 99)
        let full = try await greedyBatch(bundle, prompts: prompts, count: 40, q8: false, shadow: false, sampling: sampling)
        let shadowed = try await greedyBatch(bundle, prompts: prompts, count: 40, q8: false, shadow: true, sampling: sampling)
        #expect(shadowed.tokens == full.tokens)
        if bundle.model.outputShadow != nil { #expect(shadowed.computedShare > 0 && shadowed.computedShare < 0.25, "\(shadowed.computedShare)") }
    }

    @Test func sharedPrefixIsServedFromThePrefixCache() async throws {
        let bundle = try Bundle.load()
        let engine = try Engine(bundle: bundle, configuration: configuration())
        defer { engine.shutdown() }
        let system = bundle.encode(prompt: "Tell me about the history of the printing press in Europe, in detail.", chat: true)
        let first = try await engine.tokens(for: greedy(system, count: 8))
        var stats: GenerationStats?
        var second: [Int32] = []
        for try await event in engine.submit(greedy(system, count: 8)) {
            if let t = event.token { second.append(t) }
            if let s = event.stats { stats = s }
        }
        #expect(second == first[0], "output unchanged by the prefix cache")
        let s = try #require(stats)
        #expect(s.cachedPromptTokenCount == (system.count - 1) / 16 * 16)
        let usage = try await engine.idleUsage()
        #expect(usage.prefixCacheHits == (system.count - 1) / 16)
    }

    /// Under a KV budget far too small for all requests at once, every request completes with the
    /// output it has alone, through queuing and preemption; nothing leaks.
    @Test func tinyBudgetQueuesAndPreemptsWithUnchangedOutput() async throws {
        let bundle = try Bundle.load()
        let prompts: [[Int32]] = (0..<6).map { i in bundle.tokenizer.encode("Story \(i): once upon a time, a \(["cat", "dog", "fox", "owl", "bee", "elk"][i]) said") }
        let roomy = try Engine(bundle: bundle, configuration: configuration())
        var expected: [[Int32]] = []
        for p in prompts { expected.append(try await roomy.tokens(for: greedy(p, count: 40))[0]) }
        roomy.shutdown()
        // 8 pages of 16 tokens: each request needs 4, so at most two fit at once.
        let tight = try Engine(bundle: bundle, configuration: configuration(memory: .tokens(128), batchTokens: 64))
        defer { tight.shutdown() }
        let got = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, p) in prompts.enumerated() { group.addTask { (i, try await tight.tokens(for: greedy(p, count: 40))[0]) } }
            var all = [[Int32]](repeating: [], count: prompts.count)
            for try await (i, t) in group { all[i] = t }
            return all
        }
        #expect(got == expected)
        let usage = try await tight.idleUsage()
        #expect(usage.usedPageCount == 0, "pages leaked: \(usage)")
        #expect(usage.preemptions > 0, "a budget this small must preempt")
    }

    /// A prompt of three pages and a part: the samples share its full pages and copy the
    /// partial one; greedy, each sample is the one-sample continuation exactly.
    @Test func forkedSamplesShareThePrompt() async throws {
        let bundle = try Bundle.load()
        let engine = try Engine(bundle: bundle, configuration: configuration())
        defer { engine.shutdown() }
        let prompt = bundle.tokenizer.encode(
            "List three colours of the rainbow and describe each in a sentence. Red is the colour of fire and of "
                + "ripe strawberries. Orange is the colour of the fruit that shares its name, and of autumn leaves in the "
                + "park. Green is the colour of grass after the rain and of the trees in spring. Yellow is the colour of")
        try #require(prompt.count > 3 * 16 && prompt.count % 16 != 0, "\(prompt.count) tokens")
        let request = GenerationRequest(
            promptTokens: prompt, sampling: SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 7),
            stop: StopConditions(maxTokens: 10), sampleCount: 3)
        let samples = try await engine.tokens(for: request)
        #expect(samples.count == 3 && samples.allSatisfy { $0.count == 10 })
        #expect(Set(samples).count > 1, "different seeds give different samples")
        let alone = try await engine.tokens(for: greedy(prompt, count: 10))
        var forked = greedy(prompt, count: 10)
        forked.sampleCount = 3
        #expect(try await engine.tokens(for: forked) == [alone[0], alone[0], alone[0]])
        let usage = try await engine.idleUsage()
        #expect(usage.usedPageCount == 0)
    }

    @Test func cancellingFreesThePages() async throws {
        let bundle = try Bundle.load()
        let engine = try Engine(bundle: bundle, configuration: configuration())
        defer { engine.shutdown() }
        let task = Task {
            var n = 0
            for try await _ in engine.submit(greedy(bundle.tokenizer.encode("Count to one thousand:"), count: 2000)) { n += 1 }
            return n
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        task.cancel()
        _ = try? await task.value
        let usage = try await engine.idleUsage()
        #expect(usage.runningSequences == 0 && usage.usedPageCount == 0, "\(usage)")
    }

    @Test func badRequestsGetClearErrors() async throws {
        let bundle = try Bundle.load()
        let engine = try Engine(bundle: bundle, configuration: configuration(memory: .tokens(1024)))
        defer { engine.shutdown() }
        func error(_ request: GenerationRequest) async -> EngineError? {
            do {
                for try await _ in engine.submit(request) {}
                return nil
            } catch { return error as? EngineError }
        }
        #expect(await error(greedy([], count: 1)) == .emptyPrompt)
        #expect(await error(greedy([Int32](repeating: 42, count: 8192), count: 1)) == .promptTooLong(tokenCount: 8192, contextLength: 8192))
        #expect(await error(greedy([1, 99999], count: 1)) == .invalidToken(99999, vocabularySize: 49152))
        #expect(await error(greedy([1, 2, 3], count: 2000)) == .exceedsKVBudget(tokenCount: 2003, budgetTokens: 1024))
        #expect(throws: EngineError.modelNotFound(path: "/no/such/model.gguf")) { try ModelBundle(path: "/no/such/model.gguf") }
    }
}
