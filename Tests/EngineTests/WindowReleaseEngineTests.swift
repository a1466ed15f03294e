import Engine
import Foundation
import PagedKVCache
import Sampling
import Testing
import TestSupport

/// The sliding-window page release through the engine on a tiny random gemma3-shaped model
/// (6 layers, the last global, the others through an 8-token window: six layer groups of one
/// layer), hermetic and fast: a sequence far longer than the window generates the same tokens
/// with its window pages given back, kept, or in the contiguous baseline, alone, forked (n > 1)
/// and from the prefix cache; it holds less while it runs; nothing leaks.
@Suite(.serialized)
struct WindowReleaseEngineTests {
    static let bundle = Result {
        var shape = TinyModel.Shape.gemma3(slidingWindow: 8)
        shape.vocabulary = TinyTokenizer.vocabularySize
        shape.context = 128
        return try ModelBundle(path: try TinyModel(shape: shape, weightType: .q8_0, seed: 11).writeWithTokenizer())
    }

    static let prompt: [Int32] = (0..<70).map { Int32(($0 * 37 + 11) % TinyTokenizer.vocabularySize) }

    func engine(
        _ mode: KVMode, releasing: Bool = true, pageSize: Int = 4, batchTokens: Int = 16, elementType: KVElementType = .f32
    ) throws -> Engine {
        var config = configuration(mode, pageSize: pageSize, memory: .tokens(mode == .paged ? 1024 : 512), batchTokens: batchTokens)
        config.releasesWindowPages = releasing
        config.kvElementType = elementType
        return try Engine(bundle: Self.bundle.get(), configuration: config)
    }

    func run(_ engine: Engine, samples: Int = 1) async throws -> [[Int32]] {
        try await engine.tokens(for: GenerationRequest(
            promptTokens: Self.prompt, sampling: .greedy, stop: StopConditions(maxTokens: 40), sampleCount: samples))
    }

    @Test func releasedKeptAndContiguousGiveTheSameTokens() async throws {
        let released = try engine(.paged)
        defer { released.shutdown() }
        #expect(released.layerGroups.groupCount == 6 && released.pageLayout.layerCount == 1)
        let expected = try await run(released)[0]
        #expect(expected.count == 40)
        let releasedUsage = try await released.idleUsage()
        #expect(releasedUsage.usedPageCount == 0, "pages leaked: \(releasedUsage)")

        let kept = try engine(.paged, releasing: false)
        defer { kept.shutdown() }
        #expect(try await run(kept)[0] == expected)
        let keptUsage = try await kept.idleUsage()
        #expect(keptUsage.usedPageCount == 0, "pages leaked: \(keptUsage)")
        // 110 positions at most: the global group holds 28 pages of 4, each window group the
        // tiles behind the window only (at most 8 + 31 + a partial page: 11 pages), not 28.
        #expect(keptUsage.peakKVBytesInUse == 6 * 28 * kept.pageLayout.bytesPerPage)
        #expect(releasedUsage.peakKVBytesInUse <= (28 + 5 * 11) * released.pageLayout.bytesPerPage, "\(releasedUsage)")

        for (pageSize, batch) in [(1, 7), (16, 64)] {
            let other = try engine(.paged, pageSize: pageSize, batchTokens: batch)
            defer { other.shutdown() }
            #expect(try await run(other)[0] == expected, "pages of \(pageSize), chunks of \(batch)")
        }
        let contiguous = try engine(.contiguous)
        defer { contiguous.shutdown() }
        #expect(contiguous.layerGroups.groupCount == 1)
        #expect(try await run(contiguous)[0] == expected)
    }

    /// F16 and int8 rows are stored the same way whatever the layout (an int8 row's scale is
    /// part of it: a fork's copied partial page and a prefix hit carry it), so each reduced
    /// precision gives one sequence of tokens in every layout, alone, forked and from the cache.
    @Test(arguments: [KVElementType.f16, .int8])
    func reducedPrecisionKVIsTheSameInEveryLayout(elementType: KVElementType) async throws {
        let e = try engine(.paged, elementType: elementType)
        defer { e.shutdown() }
        #expect(e.pageLayout.elementType == elementType)
        let expected = try await run(e)[0]
        #expect(expected.count == 40)
        #expect(try await run(e, samples: 3) == [expected, expected, expected])
        let cached = try await e.idleUsage()
        #expect(cached.prefixCacheHitTokens > 0 && cached.usedPageCount == 0, "\(cached)")
        for (mode, pageSize, batch) in [(KVMode.paged, 1, 7), (.paged, 16, 64), (.contiguous, 4, 16)] {
            let other = try engine(mode, pageSize: pageSize, batchTokens: batch, elementType: elementType)
            defer { other.shutdown() }
            #expect(try await run(other)[0] == expected, "\(mode), pages of \(pageSize), chunks of \(batch)")
        }
    }

    @Test func forksAndPrefixHitsContinueExactly() async throws {
        let e = try engine(.paged)
        defer { e.shutdown() }
        let alone = try await run(e)[0]
        // The same prompt again: its leading pages of every group, the window's included, are in
        // the prefix cache (the window groups' released pages wait in its LRU).
        let again = try await run(e)[0]
        #expect(again == alone)
        let usage = try await e.idleUsage()
        #expect(usage.prefixCacheHitTokens > 0, "\(usage)")
        // Three greedy samples forked after the prompt: each continues as the one alone.
        let forked = try await run(e, samples: 3)
        #expect(forked == [alone, alone, alone])
        let end = try await e.idleUsage()
        #expect(end.usedPageCount == 0, "pages leaked: \(end)")
    }
}
