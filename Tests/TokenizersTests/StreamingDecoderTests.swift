import Testing
import TestSupport
import Tokenizers

/// The streaming decoder holds back split characters and never changes the text it adds up to.
@Suite struct StreamingDecoderTests {
    let tokenizer: BPETokenizer

    init() throws {
        // "Ã ©" makes é (C3 A9) one token; everything else stays bytes.
        tokenizer = try TinyVocabulary.tokenizer(merges: ["Ã ©", "h i"])
    }

    func byteTokens(_ bytes: [UInt8]) -> [Int32] {
        bytes.map { TinyVocabulary.byteToken(tokenizer, $0) }
    }

    func stream(_ ids: [Int32], skipSpecialTokens: Bool = false) -> [String] {
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        return ids.map { decoder.append($0) } + [decoder.finish()]
    }

    @Test func holdsACharacterUntilItIsComplete() {
        // é as two byte tokens; 😀 (F0 9F 98 80) as four.
        #expect(stream(byteTokens([0xC3, 0xA9])) == ["", "é", ""])
        #expect(stream(byteTokens([0x41, 0xF0, 0x9F, 0x98, 0x80, 0x42])) == ["A", "", "", "", "😀", "B", ""])
        #expect(stream(tokenizer.encode("hié")) == ["hi", "é", ""])
    }

    @Test func releasesInvalidBytesAtOnce() {
        // FF never starts a character; E0 80 can never become one (E0 needs A0…BF next).
        #expect(stream(byteTokens([0xFF, 0x41])) == ["\u{FFFD}", "A", ""])
        #expect(stream(byteTokens([0xE0, 0x80])) == ["", "\u{FFFD}\u{FFFD}", ""])
        #expect(stream(byteTokens([0xED, 0xA0])) == ["", "\u{FFFD}\u{FFFD}", ""])  // a surrogate
        // A character interrupted by another one: the first is lost, the second kept.
        #expect(stream(byteTokens([0xE2, 0x82, 0xC3, 0xA9])) == ["", "", "\u{FFFD}", "é", ""])
    }

    @Test func finishFlushesACutOffCharacter() {
        #expect(stream(byteTokens([0x41, 0xE2, 0x82])) == ["A", "", "", "\u{FFFD}"])
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        _ = decoder.append(TinyVocabulary.byteToken(tokenizer, 0xC3))
        #expect(decoder.finish() == "\u{FFFD}")
        #expect(decoder.finish() == "")
        #expect(decoder.append(TinyVocabulary.byteToken(tokenizer, 0x41)) == "A")
    }

    @Test func controlTokensAreTextUnlessSkipped() {
        let ids = tokenizer.encode("hi<|im_end|>")
        #expect(stream(ids) == ["hi", "<|im_end|>", ""])
        #expect(stream(ids, skipSpecialTokens: true) == ["hi", "", ""])
    }

    @Test func piecesAddUpToTheWholeDecoding() {
        // Random byte soup, weighted towards lead and continuation bytes.
        var generator = SeededRandom(seed: 3)
        let interesting: [UInt8] = [0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF,
                                    0xF0, 0xF4, 0xF5, 0xFF, 0xA9, 0x82]
        let eAcute = tokenizer.tokenID("Ã©")!
        for _ in 0..<2_000 {
            let ids = (0..<Int.random(in: 0...12, using: &generator)).map { _ -> Int32 in
                Int.random(in: 0..<8, using: &generator) == 0
                    ? eAcute : TinyVocabulary.byteToken(tokenizer, interesting.randomElement(using: &generator)!)
            }
            let bytes = ids.flatMap { tokenizer.bytes(of: $0) }
            #expect(stream(ids).joined() == String(decoding: bytes, as: UTF8.self))
            #expect(tokenizer.decode(ids) == String(decoding: bytes, as: UTF8.self))
        }
    }
}
