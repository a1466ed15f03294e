import Testing
import TestSupport
import Tokenizers

/// Encoding and decoding on hand-made vocabularies, where every expected token follows from the
/// merge ranks by hand.
@Suite struct BPETokenizerTests {
    typealias Vocabulary = TinyVocabulary

    @Test func lowestRankMergesFirst() throws {
        // (a,b) rank 0 before (b,c) rank 1, then ab+c.
        let abFirst = try Vocabulary.tokenizer(merges: ["a b", "b c", "ab c"])
        #expect(Vocabulary.tokenStrings(abFirst, "abc") == ["abc"])
        // (b,c) rank 0 wins; a+bc exists, so the result is one token by another route.
        let bcFirst = try Vocabulary.tokenizer(merges: ["b c", "a b", "a bc"])
        #expect(Vocabulary.tokenStrings(bcFirst, "abc") == ["abc"])
        // Without a+bc, taking (b,c) first strands the a, although "ab" is a token.
        let stranded = try Vocabulary.tokenizer(merges: ["b c", "a b"])
        #expect(Vocabulary.tokenStrings(stranded, "abc") == ["a", "bc"])
        // A merge made possible by an earlier one is taken when its rank comes up.
        let chained = try Vocabulary.tokenizer(merges: ["b c", "a bc", "a b"])
        #expect(Vocabulary.tokenStrings(chained, "abcab") == ["abc", "ab"])
    }

    @Test func equalRanksMergeLeftmostFirst() throws {
        let tokenizer = try Vocabulary.tokenizer(merges: ["a a", "aa aa"])
        #expect(Vocabulary.tokenStrings(tokenizer, "aaa") == ["aa", "a"])
        #expect(Vocabulary.tokenStrings(tokenizer, "aaaaa") == ["aaaa", "a"])
        #expect(Vocabulary.tokenStrings(tokenizer, "aaaaaaa") == ["aaaa", "aa", "a"])
    }

    @Test func mergesNeverCrossPieces() throws {
        // "a Ġ" exists, but "a b" is the pieces "a" and " b".
        let tokenizer = try Vocabulary.tokenizer(merges: ["a Ġ", "Ġ b"])
        #expect(Vocabulary.tokenStrings(tokenizer, "a b") == ["a", "Ġb"])
        #expect(Vocabulary.tokenStrings(tokenizer, "a ") == ["a", "Ġ"])
    }

    @Test func multiByteCharactersMergeFromTheirBytes() throws {
        // é is C3 A9, spelled "Ã©" byte-level; 😀 is F0 9F 98 80 and has no merges.
        let tokenizer = try Vocabulary.tokenizer(merges: ["Ã ©", "a f", "c af", "caf Ã©"])
        #expect(Vocabulary.tokenStrings(tokenizer, "café") == ["cafÃ©"])
        #expect(Vocabulary.tokenStrings(tokenizer, "😀") == ["ð", "Ł", "ĺ", "Ģ"])
        #expect(tokenizer.decode(tokenizer.encode("café 😀")) == "café 😀")
    }

    @Test func longPieceMergesInLogLinearTime() throws {
        // 10,000 spaces at the end of the text are one piece; pairs merge leftmost first.
        let tokenizer = try Vocabulary.tokenizer(merges: ["Ġ Ġ", "ĠĠ ĠĠ"])
        let ids = tokenizer.encode(String(repeating: " ", count: 10_001) + "x")
        #expect(ids.count == 2_500 + 2)
        #expect(ids.prefix(2_500).allSatisfy { tokenizer.token($0) == "ĠĠĠĠ" })
        #expect(ids.suffix(2).map(tokenizer.token) == ["Ġ", "x"])
    }

    @Test func bytesWithoutATokenAreDroppedBeforeMerging() throws {
        // Like Hugging Face's BPE without an unknown token: the neighbours of U+0004 merge.
        let tokenizer = try Vocabulary.tokenizer(merges: ["! !"], missingBytes: [0x04])
        #expect(Vocabulary.tokenStrings(tokenizer, "!\u{4}!") == ["!!"])
        #expect(Vocabulary.tokenStrings(tokenizer, "a\u{4}b") == ["a", "b"])
    }

    @Test func controlTokensAreMatchedVerbatimAndLongestFirst() throws {
        let tokenizer = try Vocabulary.tokenizer(merges: ["u s", "us e", "use r", "h i", "Ġ Ġ"])
        #expect(Vocabulary.tokenStrings(tokenizer, "<|im_start|>user\nhi<|im_end|>")
            == ["<|im_start|>", "user", "Ċ", "hi", "<|im_end|>"])
        #expect(Vocabulary.tokenStrings(tokenizer, "hi<|im_end|>hi") == ["hi", "<|im_end|>", "hi"])
        #expect(Vocabulary.tokenStrings(tokenizer, "<|im_start|><|im_end|>") == ["<|im_start|>", "<|im_end|>"])
        #expect(Vocabulary.tokenStrings(tokenizer, "<<|im_end|>>") == ["<", "<|im_end|>", ">"])
        // The longest special token starting at a position wins.
        #expect(Vocabulary.tokenStrings(tokenizer, "<|a|>bb") == ["<|a|>b", "b"])
        #expect(Vocabulary.tokenStrings(tokenizer, "<|a|>hi") == ["<|a|>", "hi"])
        // A prefix of a special token is plain text.
        #expect(Vocabulary.tokenStrings(tokenizer, "<|im_start") == ["<", "|", "i", "m", "_", "s", "t", "a", "r", "t"])
        // Text on each side is pre-tokenized on its own: the spaces end their segments.
        #expect(Vocabulary.tokenStrings(tokenizer, "   <|im_end|>  ") == ["ĠĠ", "Ġ", "<|im_end|>", "ĠĠ"])
    }

    @Test func controlTokensCanBeTreatedAsText() throws {
        let tokenizer = try Vocabulary.tokenizer(merges: ["h i"], userDefined: ["<tool>"])
        #expect(Vocabulary.tokenStrings(tokenizer, "<|im_end|>", parseSpecialTokens: false)
            == ["<", "|", "i", "m", "_", "e", "n", "d", "|", ">"])
        // User-defined tokens are vocabulary words: matched even in untrusted text.
        #expect(Vocabulary.tokenStrings(tokenizer, "hi<tool>", parseSpecialTokens: false) == ["hi", "<tool>"])
        #expect(tokenizer.tokenType(tokenizer.tokenID("<tool>")!) == .userDefined)
    }

    @Test func bosIsPrependedOnlyWhenAsked() throws {
        let plain = try Vocabulary.tokenizer()
        let withBOS = try Vocabulary.tokenizer(addBOS: true)
        #expect(plain.encode("x") == [Vocabulary.byteToken(plain, UInt8(ascii: "x"))])
        #expect(withBOS.encode("x") == [1, Vocabulary.byteToken(withBOS, UInt8(ascii: "x"))])
        #expect(withBOS.encode("") == [1])
        #expect(plain.encode("").isEmpty)
        #expect(withBOS.bosTokenID == 1 && withBOS.eosTokenID == 2)
    }

    @Test func decodingWritesControlTokensUnlessSkipped() throws {
        let tokenizer = try Vocabulary.tokenizer(merges: ["h i"])
        let ids = tokenizer.encode("<|im_start|>hi<|im_end|>")
        #expect(tokenizer.decode(ids) == "<|im_start|>hi<|im_end|>")
        #expect(tokenizer.decode(ids, skipSpecialTokens: true) == "hi")
        // Bytes that are not UTF-8 become U+FFFD.
        #expect(tokenizer.decode([Vocabulary.byteToken(tokenizer, 0xFF), Vocabulary.byteToken(tokenizer, 0x41)]) == "\u{FFFD}A")
        #expect(Array(tokenizer.bytes(of: tokenizer.tokenID("Ġ")!)) == [0x20])
    }

    @Test func decodeInvertsEncode() throws {
        let tokenizer = try Vocabulary.tokenizer(merges: ["Ġ t", "h e", "Ġt he", "Ġ Ġ", "i n", "Ã ©", "Ċ Ċ"])
        var generator = SeededRandom(seed: 2)
        let alphabet: [String] = ["the", " ", "in", "\n", "é", "1", "½", "'s", "<|im_end|>", "\u{A0}", "🏽",
                                  "\r\n", "e\u{301}", "\u{10FFFF}", "\u{0}", "日本"]
        for _ in 0..<1_000 {
            let text = (0..<Int.random(in: 0...24, using: &generator))
                .map { _ in alphabet.randomElement(using: &generator)! }.joined()
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
            #expect(tokenizer.decode(tokenizer.encode(text, parseSpecialTokens: false)) == text)
        }
    }

    /// Four tasks share one tokenizer (and its piece cache) and encode 68,000 distinct words,
    /// more than the cache holds, so it also empties itself while in use. With the one merge
    /// "a b", the tokens of a word follow by hand: every "ab" is one token, every other letter
    /// its byte's token, and the space in front of each word its own token.
    @Test func concurrentEncodingSharesTheCache() async throws {
        let tokenizer = try Vocabulary.tokenizer(merges: ["a b"])
        let ab = tokenizer.tokenID("ab")!, space = tokenizer.tokenID("Ġ")!
        let letterTokens = Dictionary(uniqueKeysWithValues: "abc".utf8.map { ($0, Vocabulary.byteToken(tokenizer, $0)) })
        func word(_ number: Int) -> [UInt8] {  // base 3 over "abc", 11 letters
            let letters = Array("abc".utf8)
            var digits: [UInt8] = [], number = number
            for _ in 0..<11 {
                digits.append(letters[number % 3])
                number /= 3
            }
            return digits
        }
        func expected(_ word: [UInt8]) -> [Int32] {
            var ids = [space], i = 0
            while i < word.count {
                if i + 1 < word.count, word[i] == UInt8(ascii: "a"), word[i + 1] == UInt8(ascii: "b") {
                    ids.append(ab)
                    i += 2
                } else {
                    ids.append(letterTokens[word[i]]!)
                    i += 1
                }
            }
            return ids
        }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask {
                    let words = (task * 17_000..<(task + 1) * 17_000).map(word)
                    let text = words.map { " " + String(decoding: $0, as: UTF8.self) }.joined()
                    return tokenizer.encode(text) == words.flatMap(expected) ? 0 : 1
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test func byteLevelAlphabetIsGPT2s() {
        #expect(ByteLevel.text(for: Array("Hi there\n".utf8)) == "HiĠthereĊ")
        #expect(ByteLevel.text(for: [0x00, 0x7F, 0xAD, 0xFF]) == "\u{100}\u{121}\u{143}ÿ")
        #expect(ByteLevel.bytes(for: "ĠÃ©") == [0x20, 0xC3, 0xA9])
        #expect(ByteLevel.bytes(for: "日") == nil)
        #expect(Set(ByteLevel.scalarForByte).count == 256)
    }
}
