import Testing
import TestSupport
import Tokenizers

/// Piece splits written out by hand from the regex semantics (and checked once against Hugging
/// Face `tokenizers` with `Digits(individual_digits: true)` + `ByteLevel`).
@Suite struct PreTokenizerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var smollm: [String]
        /// The GPT-2 split, where it differs from `smollm` (only around numbers).
        var gpt2: [String]?

        init(_ text: String, _ smollm: [String], gpt2: [String]? = nil) {
            self.text = text
            self.smollm = smollm
            self.gpt2 = gpt2
        }

        var testDescription: String { text.debugDescription }
    }

    static let cases: [Case] = [
        Case("", []),
        Case("Hello world", ["Hello", " world"]),
        Case("Hello, world!", ["Hello", ",", " world", "!"]),
        // Contractions: lower case only; an apostrophe that starts none joins the punctuation run.
        Case("I'm don't they're we've you'll he'd it's",
             ["I", "'m", " don", "'t", " they", "'re", " we", "'ve", " you", "'ll", " he", "'d", " it", "'s"]),
        Case("DON'T", ["DON", "'", "T"]),
        Case("you'RE", ["you", "'", "RE"]),
        Case("'sa", ["'s", "a"]),
        Case("'ll've'd", ["'ll", "'ve", "'d"]),
        Case(" 's", [" '", "s"]),
        Case("'''s", ["'''", "s"]),
        Case("?'s", ["?'", "s"]),
        // Digits: one piece each for smollm, so the space before them stands alone.
        Case("abc 12345 x", ["abc", " ", "1", "2", "3", "4", "5", " x"], gpt2: ["abc", " 12345", " x"]),
        Case("3.14", ["3", ".", "1", "4"], gpt2: ["3", ".", "14"]),
        Case("x 2", ["x", " ", "2"], gpt2: ["x", " 2"]),
        Case("  2", ["  ", "2"], gpt2: [" ", " 2"]),
        Case("It's 5'o clock", ["It", "'s", " ", "5", "'", "o", " clock"], gpt2: ["It", "'s", " 5", "'", "o", " clock"]),
        // Unicode numerals are \p{N} too: letter number Ⅻ, other numbers ½ ², Arabic-Indic ٣.
        Case("Ⅻ½٣ x²", ["Ⅻ", "½", "٣", " x", "²"], gpt2: ["Ⅻ½٣", " x", "²"]),
        // NBSP is whitespace but not the optional U+0020 in front of a word.
        Case("a\u{A0}b", ["a", "\u{A0}", "b"]),
        Case("a \u{A0}b", ["a", " ", "\u{A0}", "b"]),
        Case("a\u{A0} b", ["a", "\u{A0}", " b"]),
        Case("a\u{2003}b\u{3000}c", ["a", "\u{2003}", "b", "\u{3000}", "c"]),
        // CRLF: `\s+(?!\S)` leaves the last whitespace scalar before a word on its own.
        Case("line1\r\nline2", ["line", "1", "\r", "\n", "line", "2"]),
        Case("a\r\n\r\nb", ["a", "\r\n\r", "\n", "b"]),
        Case("a\r\n", ["a", "\r\n"]),
        // Trailing and inner whitespace runs.
        Case("hello   ", ["hello", "   "]),
        Case("hello   world", ["hello", "  ", " world"]),
        Case("a \n b", ["a", " \n", " b"]),
        Case("a\tb", ["a", "\t", "b"]),
        Case("  x", [" ", " x"]),
        Case(" ...", [" ..."]),
        Case("\n\n\n", ["\n\n\n"]),
        Case("def f(n):\n    return n\n", ["def", " f", "(", "n", "):", "\n   ", " return", " n", "\n"]),
        // Emoji: ZWJ, skin tones and variation selectors are neither letters nor numbers.
        Case("👨\u{200D}👩\u{200D}👧 family", ["👨\u{200D}👩\u{200D}👧", " family"]),
        Case("hi 👍🏽!", ["hi", " 👍🏽!"]),
        // Scalars, not grapheme clusters: a combining accent leaves its letter.
        Case("e\u{301}", ["e", "\u{301}"]),
        Case("café", ["café"]),
        Case("日本語テキスト", ["日本語テキスト"]),
        Case("Привет мир", ["Привет", " мир"]),
        // `\s` is White_Space: not U+001C or ZERO WIDTH SPACE, which are punctuation-like here.
        Case(" \u{1C}x", [" \u{1C}", "x"]),
        Case(" \u{200B}x", [" \u{200B}", "x"]),
        Case(" \u{85}x", [" ", "\u{85}", "x"]),
        // Special-token text is ordinary text to the pre-tokenizer.
        Case("<|im_start|>user", ["<|", "im", "_", "start", "|>", "user"]),
    ]

    @Test(arguments: cases)
    func splitsLikeTheRegex(_ testCase: Case) {
        #expect(PreTokenizer.smollm.split(testCase.text) == testCase.smollm)
        #expect(PreTokenizer.gpt2.split(testCase.text) == (testCase.gpt2 ?? testCase.smollm))
    }

    @Test func piecesConcatenateToTheInput() {
        var generator = SeededRandom(seed: 1)
        let alphabet: [String] = ["a", "Z", "1", " ", "  ", "'s", "'", "\t", "\r\n", "\u{A0}", ".", "é",
                                  "e\u{301}", "👍🏽", "\u{200D}", "½", "日", "<|im_end|>"]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...20, using: &generator))
                .map { _ in alphabet.randomElement(using: &generator)! }.joined()
            for preTokenizer in PreTokenizer.allCases {
                let pieces = preTokenizer.split(text)
                #expect(pieces.joined() == text)
                #expect(!pieces.contains(""))
            }
        }
    }

    @Test func namesFromGGUF() throws {
        #expect(try PreTokenizer(ggmlName: "smollm") == .smollm)
        #expect(try PreTokenizer(ggmlName: "gpt-2") == .gpt2)
        #expect(try PreTokenizer(ggmlName: "gpt2") == .gpt2)
        #expect(throws: TokenizerError.unknownPreTokenizer("llama-bpe")) {
            try PreTokenizer(ggmlName: "llama-bpe")
        }
        #expect(TokenizerError.unknownPreTokenizer("qwen2").description.contains("\"qwen2\""))
    }
}
