import FlexAttention
import Testing
import TestSupport

@Suite struct ModifierTests {
    @Test("built-in masks decide pairs as documented")
    func maskSemantics() {
        #expect(CausalMask()(0, 0, 5, 5) && CausalMask()(0, 0, 5, 0) && !CausalMask()(0, 0, 5, 6))
        let window = SlidingWindowMask(windowLength: 3)
        #expect((0...10).filter { window(0, 0, 10, $0) } == [8, 9, 10])
        let prefix = PrefixLMMask(prefixLength: 4)
        #expect((0...9).filter { prefix(0, 0, 2, $0) } == [0, 1, 2, 3])
        #expect((0...9).filter { prefix(0, 0, 6, $0) } == [0, 1, 2, 3, 4, 5, 6])
        let documents = DocumentMask(documentIDs: [0, 0, 0, 1, 1, 2, 2])
        #expect(documents.isSorted && !DocumentMask(documentIDs: [1, 0]).isSorted)
        let packed = andMasks(CausalMask(), documents)
        #expect((0...6).filter { packed(0, 0, 4, $0) } == [3, 4])
        #expect((0...6).filter { orMasks(CausalMask(), PrefixLMMask(prefixLength: 2))(0, 0, 0, $0) } == [0, 1])
        #expect((0...6).filter { notMask(CausalMask())(0, 0, 3, $0) } == [4, 5, 6])
        #expect(FullMask()(3, 1, 0, 100))
        #expect(!CausalMask.dependsOnHead && !AndMask<CausalMask, DocumentMask>.dependsOnHead)
    }

    /// A head-dependent mask, to check that combinators keep the flag.
    struct EvenHeadsCausal: MaskMod {
        func callAsFunction(_ b: Int, _ h: Int, _ qIdx: Int, _ kvIdx: Int) -> Bool { h % 2 == 0 || kvIdx <= qIdx }
    }

    /// Every built-in's `visibility` against pair-by-pair evaluation, on random rectangles:
    /// never wrong, and exact for the primitive masks.
    @Test("tile visibility agrees with pair-by-pair evaluation")
    func visibilityIsSound() {
        #expect(EvenHeadsCausal.dependsOnHead && OrMask<CausalMask, EvenHeadsCausal>.dependsOnHead)
        var random = SeededRandom(seed: 31)
        let ids: [Int32] = (0..<300).map { Int32($0 / 37) }
        func check<Mask: MaskMod>(_ mask: Mask, exact: Bool, _ name: String) {
            for _ in 0..<150 {
                let q0 = Int.random(in: 0..<250, using: &random), k0 = Int.random(in: 0..<250, using: &random)
                let queries = q0..<q0 + Int.random(in: 1...40, using: &random)
                let keys = k0..<k0 + Int.random(in: 1...40, using: &random)
                let heads = 0..<Int.random(in: 1...4, using: &random)
                var visible = 0
                for h in heads { for q in queries { for k in keys where mask(0, h, q, k) { visible += 1 } } }
                let truth: TileVisibility = visible == 0 ? .empty : visible == heads.count * queries.count * keys.count ? .full : .partial
                let claimed = mask.visibility(0, heads: heads, queries: queries, keys: keys)
                #expect(claimed == truth || (!exact && claimed == .partial), "\(name) \(queries) \(keys): \(claimed) vs \(truth)")
            }
        }
        check(CausalMask(), exact: true, "causal")
        check(SlidingWindowMask(windowLength: 17), exact: true, "window")
        check(PrefixLMMask(prefixLength: 60), exact: true, "prefix")
        check(DocumentMask(documentIDs: ids), exact: true, "document")
        check(DocumentMask(documentIDs: ids.reversed()), exact: true, "unsorted document")
        check(FullMask(), exact: true, "full")
        check(EvenHeadsCausal(), exact: true, "default")
        check(andMasks(CausalMask(), SlidingWindowMask(windowLength: 33)), exact: false, "and")
        check(orMasks(PrefixLMMask(prefixLength: 20), SlidingWindowMask(windowLength: 5)), exact: false, "or")
        check(notMask(andMasks(CausalMask(), DocumentMask(documentIDs: ids))), exact: false, "not")
    }

    @Test("ALiBi slopes follow the paper, and the vector form equals the scalar form")
    func alibi() {
        #expect(ALiBi(headCount: 8).slopes == (1...8).map { Float(1.0 / Double(1 << $0)) })
        // 12 heads: the 8 slopes of 8 heads, then slopes 1, 3, 5, 7 (0-based 0, 2, 4, 6) of 16 heads.
        let twelve = ALiBi(headCount: 12).slopes
        #expect(Array(twelve.prefix(8)) == ALiBi(headCount: 8).slopes)
        #expect(Array(twelve.suffix(4)) == [0, 2, 4, 6].map { ALiBi.slopes(headCount: 16)[$0] })
        let alibi = ALiBi(headCount: 12)
        let scores = SIMD8<Float>(0.5, -1, 2, 0, 3, -2, 1, 0.25)
        for (h, q, start) in [(0, 100, 40), (11, 5, 0), (7, 1000, 995)] {
            let vector = alibi.apply(scores, 0, h, q, kvStart: start)
            for lane in 0..<8 {
                #expect(vector[lane].bitPattern == alibi(scores[lane], 0, h, q, start + lane).bitPattern)
            }
        }
        #expect(alibi(1, 0, 0, 10, 10) == 1 && alibi(1, 0, 0, 10, 8) == 1 - 2 * alibi.slopes[0])
    }

    @Test("soft-capping bounds scores and leaves small ones nearly unchanged; the default vector form is lane by lane")
    func softCap() {
        let cap = SoftCap(cap: 5)
        #expect(abs(cap(1e-3, 0, 0, 0, 0) - 1e-3) < 1e-9)
        #expect(cap(1e4, 0, 0, 0, 0) <= 5 && cap(-1e4, 0, 0, 0, 0) >= -5)
        let scores = SIMD8<Float>(-40, -3, -0.1, 0, 0.1, 3, 40, 7)
        let vector = cap.apply(scores, 0, 0, 0, kvStart: 0)
        for lane in 0..<8 { #expect(vector[lane] == cap(scores[lane], 0, 0, 0, lane)) }
        #expect(NoScoreMod().apply(scores, 1, 2, 3, kvStart: 4) == scores)
    }
}
