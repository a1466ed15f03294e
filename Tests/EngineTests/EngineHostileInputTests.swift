import Engine
import Foundation
import PagedKVCache
import Sampling
import Testing
import TestSupport

/// The engine on a tiny random model (fast enough for the sanitizer runs): sizes near the
/// limits, forks of multi-page prompts in every KV mode, stop strings held back across tokens,
/// context-full stops, and pages accounted for after every run.
@Suite(.serialized)
struct EngineHostileInputTests {
    static let context = 64
    static let bundle = Result {
        try ModelBundle(path: try TinyModel(
            shape: TinyModel.shapeWithTokenizer(contextLength: context), weightType: .q8_0, seed: 5
        ).writeWithTokenizer())
    }

    func engine(_ mode: KVMode = .paged, pageSize: Int = 4, memory: KVMemory = .tokens(1024)) throws -> Engine {
        try Engine(bundle: Self.bundle.get(), configuration: configuration(mode, pageSize: pageSize, memory: memory))
    }

    /// Every event of a request, in order.
    func events(_ engine: Engine, _ request: GenerationRequest) async throws -> [GenerationEvent] {
        var out: [GenerationEvent] = []
        for try await event in engine.submit(request) { out.append(event) }
        return out
    }

    /// A tiny prompt that spans `pages` pages of 4 tokens and then some.
    func prompt(tokens count: Int) throws -> [Int32] {
        let tokens = try Self.bundle.get().tokenizer.encode(String(repeating: "the paged cache keeps keys. ", count: 8))
        return Array(tokens.prefix(count))
    }

    /// No sequence left, no page held: checked once the loop is idle, and only if it got there,
    /// after a run that held pages (in `--kv none` mode a step releases its pages before the
    /// usage is published, so there the proof is ``noCacheModeReleasesEveryPageAfterEveryStep``).
    func expectNothingHeld(_ engine: Engine, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let usage = try await engine.idleUsage()
        #expect(usage.usedPageCount == 0 && usage.kvBytesInUse == 0, "pages leaked: \(usage)", sourceLocation: sourceLocation)
        if engine.configuration.kvMode != .none {
            #expect(usage.peakKVBytesInUse > 0, "the run never held a page, so the check proves nothing", sourceLocation: sourceLocation)
        }
    }

    /// A library caller's token budget whose bytes overflow is a clear error, not a trap.
    @Test func aTokenBudgetPastAnyMemoryIsAClearError() throws {
        for tokens in [Int.max / 2, Int.max, -1] {
            #expect(throws: EngineError.self, "\(tokens) tokens") { _ = try engine(memory: .tokens(tokens)) }
        }
    }

    @Test func maxTokensNearIntMaxStopsWhenTheContextIsFull() async throws {
        let engine = try engine()
        defer { engine.shutdown() }
        #expect(StopConditions(maxTokens: .max).maxTokens == StopConditions.maxTokensLimit)
        let prompt = try prompt(tokens: 10)
        let got = try await events(engine, GenerationRequest(promptTokens: prompt, stop: StopConditions(maxTokens: .max)))
        #expect(got.last?.finishReason == .contextFull)
        // A token per event; the last one fills the context.
        #expect(got.compactMap(\.token).count == Self.context - prompt.count)
        #expect(got.last?.stats?.generatedTokenCount == Self.context - prompt.count)
        try await expectNothingHeld(engine)
    }

    @Test(arguments: [KVMode.paged, .contiguous, .none])
    func contextFullStopsInEveryMode(mode: KVMode) async throws {
        let engine = try engine(mode)
        defer { engine.shutdown() }
        let prompt = try prompt(tokens: Self.context - 3)
        let got = try await events(engine, greedy(prompt, count: 100))
        #expect(got.compactMap(\.token).count == 3 && got.last?.finishReason == .contextFull)
        try await expectNothingHeld(engine)
    }

    /// n samples of a prompt of several pages, greedy: each child reads the parent's shared
    /// pages and its copy of the partial page (in contiguous mode the whole prompt is in the
    /// copied page), so every sample is the one-sample continuation.
    @Test(arguments: [KVMode.paged, .contiguous])
    func forkedMultiPagePromptsContinueExactlyAsTheParent(mode: KVMode) async throws {
        let engine = try engine(mode)
        defer { engine.shutdown() }
        let prompt = try prompt(tokens: 14)  // 3 full pages of 4 and 2 tokens of a fourth
        let alone = try await engine.tokens(for: greedy(prompt, count: 12))
        var forked = greedy(prompt, count: 12)
        forked.sampleCount = 4
        let samples = try await engine.tokens(for: forked)
        #expect(samples.count == 4)
        for (i, sample) in samples.enumerated() { #expect(sample == alone[0], "\(mode) sample \(i)") }
        try await expectNothingHeld(engine)
    }

    /// A budget of one context-sized page: three concurrent requests can only take turns, so
    /// they all finish (with the paged mode's tokens) only if every step gives its page back.
    @Test(arguments: [KVMode.none, .contiguous])
    func noCacheModeReleasesEveryPageAfterEveryStep(mode: KVMode) async throws {
        let engine = try engine(mode, memory: .tokens(Self.context))
        defer { engine.shutdown() }
        #expect(engine.usage().pageCount == 1)
        let paged = try self.engine()
        defer { paged.shutdown() }
        let prompts = try [5, 9, 17].map { try prompt(tokens: $0) }
        let outputs = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, p) in prompts.enumerated() { group.addTask { (i, try await engine.tokens(for: greedy(p, count: 6))[0]) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (i, p) in prompts.enumerated() {
            #expect(outputs[i] == (try await paged.tokens(for: greedy(p, count: 6))[0]), "\(mode) prompt \(i)")
        }
        try await expectNothingHeld(engine)
    }

    /// A stop string that spans tokens: the text before it arrives, nothing of it leaks out
    /// before it is complete, and a stop string that starts but never completes holds back text
    /// only until the end.
    @Test func stopStringsAreHeldBackAcrossTokens() async throws {
        let engine = try engine()
        defer { engine.shutdown() }
        let prompt = try prompt(tokens: 6)
        let plain = try await events(engine, greedy(prompt, count: 24))
        let texts = plain.map(\.text)
        let full = texts.joined()
        // The stop string: the last character of the third non-empty piece and the first two
        // of what follows, so it starts inside one event and ends in a later one.
        let pieces = texts.filter { !$0.isEmpty }
        try #require(pieces.count >= 5, "the tiny model's output is too short: \(texts)")
        let start = pieces.prefix(3).joined().count - 1
        let stop = String(full.dropFirst(start).prefix(3))
        var request = greedy(prompt, count: 24)
        request.stop.stopStrings = [stop]
        let stopped = try await events(engine, request)
        let cut = full.range(of: stop)!.lowerBound
        #expect(stopped.map(\.text).joined() == String(full[..<cut]), "stop \(stop.debugDescription) in \(full.debugDescription)")
        #expect(stopped.last?.finishReason == .stopString)

        // Begins like the output but never completes: all the text, in full, at the end.
        request.stop.stopStrings = [String(full.dropFirst(start).prefix(2)) + "\u{10FFFD}"]
        let never = try await events(engine, request)
        #expect(never.map(\.text).joined() == full && never.last?.finishReason == .length)
        try await expectNothingHeld(engine)
    }

    @Test func hostileKVBudgetsAreRefusedByTheParser() {
        for text in ["1e30tokens", "infb", "nanb", "inftokens", "1e15tokens", "-5b", "0tokens", "1e300GiB", "9223372036854775807"] {
            #expect(KVMemory(parsing: text) == nil, "\(text)")
        }
        #expect(KVMemory(parsing: "32768tokens") == .tokens(32768))
        #expect(KVMemory(parsing: "\(KVMemory.maxTokenCount)tokens") == .tokens(KVMemory.maxTokenCount))
        #expect(KVMemory(parsing: "2GB") == .bytes(2_000_000_000))
        #expect(KVMemory.tokens(.max).byteCount(bytesPerToken: 46080) == .max)
        #expect(KVMemory.tokens(32768).byteCount(bytesPerToken: 46080) == 32768 * 46080)
    }
}
