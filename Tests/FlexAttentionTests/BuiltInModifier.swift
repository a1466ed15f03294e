import FlexAttention
import PagedKVCache
import Testing
import TestSupport

/// Every built-in modifier (and the combinators), as a test argument. `check` runs one fixture
/// through the kernel in several layouts and compares.
enum BuiltInModifier: String, CaseIterable, CustomTestStringConvertible {
    case causal, slidingWindow, prefixLM, document, full, alibi, softCap, andOrNot

    var testDescription: String { rawValue }

    func check(fixture: AttentionFixture, trial: Int) throws {
        let positions = fixture.kvLengths.max()!
        switch self {
        case .causal: try Self.check(fixture, CausalMask(), NoScoreMod())
        case .slidingWindow: try Self.check(fixture, SlidingWindowMask(windowLength: 37 + 20 * trial), NoScoreMod())
        case .prefixLM: try Self.check(fixture, PrefixLMMask(prefixLength: 45), NoScoreMod())
        case .document:
            // Documents of 1 to 60 positions packed end to end, shared by all sequences.
            var ids: [Int32] = [], document: Int32 = 0
            while ids.count < positions {
                ids += Array(repeating: document, count: 1 + (Int(document) * 37 + trial * 11) % 60)
                document += 1
            }
            try Self.check(fixture, andMasks(CausalMask(), DocumentMask(documentIDs: ids)), NoScoreMod())
        case .full: try Self.check(fixture, FullMask(), NoScoreMod())
        case .alibi: try Self.check(fixture, CausalMask(), ALiBi(headCount: fixture.shape.queryHeadCount))
        case .softCap: try Self.check(fixture, CausalMask(), SoftCap(cap: 1.5))
        case .andOrNot:
            // Causal, plus the prompt (first 30) bidirectionally, minus a 5-position stripe.
            let mask = andMasks(orMasks(CausalMask(), PrefixLMMask(prefixLength: 30)),
                                notMask(andMasks(PrefixLMMask(prefixLength: 70), notMask(PrefixLMMask(prefixLength: 65)))))
            try Self.check(fixture, mask, SoftCap(cap: 4))
        }
    }

    static func check<Mask: MaskMod, Score: ScoreMod>(_ fixture: AttentionFixture, _ mask: Mask, _ scoreMod: Score) throws {
        let blockMask = fixture.blockMask(mask)
        let expected = fixture.reference(mask: mask, scoreMod: scoreMod)
        let contiguous = try fixture.run(tokensPerPage: fixture.contiguousPageLength, contiguous: true,
                                         blockMask: blockMask, scoreMod: scoreMod)
        let error = ReferenceAttention.normalizedMeanSquaredError(contiguous, expected)
        #expect(error < 1e-10, "contiguous vs reference, \(fixture.shape), \(fixture.kvLengths)")
        #expect(!contiguous.contains { $0.isNaN })
        for tokensPerPage in [8, 32, 64] {
            let paged = try fixture.run(tokensPerPage: tokensPerPage, blockMask: blockMask, scoreMod: scoreMod)
            #expect(paged.map(\.bitPattern) == contiguous.map(\.bitPattern),
                    "pages of \(tokensPerPage) vs contiguous, \(fixture.shape), \(fixture.kvLengths)")
        }
    }
}
