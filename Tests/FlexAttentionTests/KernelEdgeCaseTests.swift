import FlexAttention
import Kernels
import PagedKVCache
import Testing
import TestSupport

/// Rows that see nothing, masks the kernel must not call, F16 storage.
@Suite struct KernelEdgeCaseTests {
    static let shape = AttentionShape(queryHeadCount: 4, kvHeadCount: 2, headSize: 32)

    /// Hides every key from queries at even positions, and keys at positions 40..<80 from all.
    struct EvenQueriesSeeNothing: MaskMod {
        static var dependsOnHead: Bool { false }
        func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool {
            qIdx % 2 == 1 && kvIdx <= qIdx && !(40..<80).contains(kvIdx)
        }
    }

    @Test("a row whose every key is masked outputs zeros, and nothing is NaN")
    func fullyMaskedRows() throws {
        var random = SeededRandom(seed: 21)
        let fixture = AttentionFixture(shape: Self.shape, queryCounts: [60, 1, 1], kvLengths: [100, 700, 701], random: &random)
        let output = try fixture.run(tokensPerPage: 16, blockMask: fixture.blockMask(EvenQueriesSeeNothing()),
                                     scoreMod: NoScoreMod())
        #expect(!output.contains { $0.isNaN || $0.isInfinite })
        let expected = fixture.reference(mask: EvenQueriesSeeNothing(), scoreMod: NoScoreMod())
        #expect(ReferenceAttention.normalizedMeanSquaredError(output, expected) < 1e-10)
        // Sequence 0 rows at even positions (40, 42, ...) and sequence 2 (position 700): zeros;
        // sequence 1 (position 699) sees keys.
        for row in stride(from: 0, to: 60, by: 2) {
            let slice = output[row * Self.shape.queryRowStride..<(row + 1) * Self.shape.queryRowStride]
            #expect(slice.allSatisfy { $0 == 0 }, "row \(row)")
        }
        #expect(output[60 * Self.shape.queryRowStride..<61 * Self.shape.queryRowStride].contains { $0 != 0 })
        #expect(output[61 * Self.shape.queryRowStride..<62 * Self.shape.queryRowStride].allSatisfy { $0 == 0 })
        // Nothing visible at all: the block mask skips every tile and the kernel still writes zeros.
        let nothing = try fixture.run(tokensPerPage: 16, blockMask: fixture.blockMask(notMask(FullMask())), scoreMod: NoScoreMod())
        #expect(nothing.allSatisfy { $0 == 0 })
    }

    /// Claims every tile fully visible, but hides everything when asked pair by pair: the kernel
    /// must trust the block mask and never ask.
    struct FullTilesNeverAsked: MaskMod {
        static var dependsOnHead: Bool { false }
        func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool { false }
        func visibility(_ b: Int, heads: Range<Int>, queries: Range<Int>, keys: Range<Int>) -> TileVisibility { .full }
    }

    @Test("fully visible tiles are computed without calling the mask")
    func fullTilesSkipTheMask() throws {
        var random = SeededRandom(seed: 22)
        let fixture = AttentionFixture(shape: Self.shape, queryCounts: [20, 1], kvLengths: [50, 600], random: &random)
        let output = try fixture.run(tokensPerPage: 32, blockMask: fixture.blockMask(FullTilesNeverAsked()), scoreMod: NoScoreMod())
        let unmasked = fixture.reference(mask: FullMask(), scoreMod: NoScoreMod())
        #expect(ReferenceAttention.normalizedMeanSquaredError(output, unmasked) < 1e-10)
    }

    /// F16 storage rounds each key and value to 11 significant bits, int8 each row to 255 steps of
    /// its largest magnitude, and nothing else: against the reference over the stored values each
    /// is as exact as F32; against F32 storage it differs by the rounding (F16: relative error
    /// 2^-11 per element, NMSE about 1e-7 for these values; int8: half a step, max |x| / 254,
    /// NMSE about 1e-5).
    @Test("F16 and int8 KV equal the reference over their stored KV, and F32 KV within their rounding",
          arguments: [(KVElementType.f16, true), (.f16, false), (.int8, true), (.int8, false)])
    func reducedPrecision(elementType: KVElementType, contiguous: Bool) throws {
        var random = SeededRandom(seed: 23)
        let shape = AttentionShape(queryHeadCount: 6, kvHeadCount: 2, headSize: 72)
        let fixture = AttentionFixture(shape: shape, queryCounts: [1, 30, 3], kvLengths: [900, 30, 77], random: &random)
        let blockMask = fixture.blockMask(CausalMask())
        let pageLength = contiguous ? fixture.contiguousPageLength : 16
        let reduced = try fixture.run(tokensPerPage: pageLength, contiguous: contiguous, elementType: elementType,
                                      blockMask: blockMask, scoreMod: NoScoreMod())
        let single = try fixture.run(tokensPerPage: pageLength, contiguous: contiguous, blockMask: blockMask, scoreMod: NoScoreMod())
        let storedReference = fixture.reference(mask: CausalMask(), scoreMod: NoScoreMod(), roundedTo: elementType)
        #expect(ReferenceAttention.normalizedMeanSquaredError(reduced, storedReference) < 1e-10)
        let error = ReferenceAttention.normalizedMeanSquaredError(reduced, single)
        let (bound, largest): (Double, Float) = elementType == .f16 ? (1e-5, 1e-2) : (1e-3, 5e-2)
        #expect(error < bound && error > 0, "NMSE \(error)")
        #expect(zip(reduced, single).allSatisfy { abs($0 - $1) < largest })
    }

    @Test("F16 and int8 paged equal their contiguous layouts bitwise", arguments: [KVElementType.f16, .int8])
    func reducedPrecisionLayouts(elementType: KVElementType) throws {
        var random = SeededRandom(seed: 24)
        let fixture = AttentionFixture(shape: Self.shape, queryCounts: [1, 17], kvLengths: [555, 40], random: &random)
        let blockMask = fixture.blockMask(SlidingWindowMask(windowLength: 300))
        let contiguous = try fixture.run(tokensPerPage: fixture.contiguousPageLength, contiguous: true, elementType: elementType,
                                         blockMask: blockMask, scoreMod: SoftCap(cap: 2))
        let paged = try fixture.run(tokensPerPage: 8, elementType: elementType, blockMask: blockMask, scoreMod: SoftCap(cap: 2))
        #expect(paged.map(\.bitPattern) == contiguous.map(\.bitPattern))
    }
}
