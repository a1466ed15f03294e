import Engine
import Foundation
import GGUF
import Testing
import TestSupport
import Tokenizers

/// The SentencePiece-style tokenizer of the real Gemma 3 270M file (picked by the engine's GGUF
/// adapter from `tokenizer.ggml.model = llama`) against shared/reference/gemma3: every prompt's
/// ids, the greedy continuations' text, the GPL-3 text's ids (count, first ids, sha256 of the 4,096
/// used and of all), and the README's whitespace example. Skips outside CI when the files are
/// missing; fails in CI.
@Suite(.enabled(if: RealModel.gemmaShouldRun), .serialized)
struct GemmaTokenizerTests {
    static let tokenizer = Result { () throws -> any Tokenizer in
        try ModelBundle.tokenizer(gguf: try GGUFFile(path: RealModel.gemmaPath))
    }

    func loadTokenizer() throws -> SentencePieceTokenizer {
        let tokenizer = try Self.tokenizer.get()
        return try #require(tokenizer as? SentencePieceTokenizer, "the adapter must pick the SentencePiece tokenizer")
    }

    @Test func vocabularyIsGemmas() throws {
        let tokenizer = try loadTokenizer()
        #expect(tokenizer.vocabularySize == 262_144)
        #expect(tokenizer.bosTokenID == 2 && tokenizer.eosTokenID == 1 && tokenizer.addBOS && !tokenizer.addSpacePrefix)
        #expect(tokenizer.tokenID("<0x41>") == Int32(238 + 0x41))
        #expect(tokenizer.tokenType(238) == .byte)
    }

    @Test func promptsEncodeToTheReferenceIDs() throws {
        let tokenizer = try loadTokenizer()
        for prompt in try ReferenceFile.loadGemma().prompts {
            let ids = tokenizer.encode(prompt.prompt)
            #expect(ids == prompt.ids, "\(prompt.name)")
            #expect(tokenizer.decode(ids.dropFirst()) == prompt.prompt, "\(prompt.name)")
        }
    }

    @Test func greedyContinuationsDecodeToTheReferenceText() throws {
        let tokenizer = try loadTokenizer()
        for prompt in try ReferenceFile.loadGemma().prompts {
            #expect(tokenizer.decode(prompt.greedy.ids) == prompt.greedy.text, "\(prompt.name)")
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            let streamed = prompt.greedy.ids.map { decoder.append($0) }.joined() + decoder.finish()
            #expect(streamed == prompt.greedy.text, "\(prompt.name)")
        }
    }

    @Test func gplTextMatchesTheReferenceIDs() throws {
        let tokenizer = try loadTokenizer()
        let reference = try ReferenceFile.loadGemma()
        let perplexity = reference.perplexity
        let url = RealModel.referenceDirectory.appendingPathComponent("GPL-3.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        let ids = tokenizer.encode(text)
        #expect(ids.count == perplexity.n_tokens_in_file)
        #expect(Array(ids.prefix(16)) == perplexity.first_16_ids)
        #expect(SHA256.hexDigest(littleEndianInt32: Array(ids.prefix(perplexity.n_tokens_used))) == perplexity.ids_sha256_le_int32)
        #expect(SHA256.hexDigest(littleEndianInt32: ids) == reference.perplexity.all_ids_sha256_le_int32)
        #expect(tokenizer.decode(ids.dropFirst()) == text)
        #expect(tokenizer.encode(text) == ids)
    }

    /// The README's examples: runs of spaces and newlines are user-defined tokens, a run longer
    /// than 31 is the 31-run and then the rest, text after a run has no `▁`, and a character the
    /// vocabulary lacks falls back to byte tokens.
    @Test func whitespaceRunsAndByteFallback() throws {
        let tokenizer = try loadTokenizer()
        #expect(tokenizer.encode("  two spaces\n\nx") == [2, 138, 13498, 9952, 108, 236781])
        let longRun = tokenizer.encode(String(repeating: " ", count: 40))
        #expect(longRun == [2, try #require(tokenizer.tokenID(String(repeating: " ", count: 31))),
                            try #require(tokenizer.tokenID(String(repeating: " ", count: 9)))])
        for text in ["<0x41> typed", "tab\tand\u{0}nul", "\u{10FFFF}\u{E000}", "日本語 Привет 👍🏽", "x<start_of_turn>y"] {
            let ids = tokenizer.encode(text)
            #expect(tokenizer.decode(ids.dropFirst()) == text, "\(text.debugDescription)")
        }
        // Symbols are Unicode scalars, not Characters: a combining accent and a skin-tone modifier
        // are symbols of their own (ids as llama.cpp gives them).
        // Tokens are told apart by their bytes: NFD "e\u{301}" is not the token "é".
        let accent = tokenizer.encode("e\u{301}")
        #expect(tokenizer.decode(accent.dropFirst()) == "e\u{301}")
        #expect(!accent.contains(try #require(tokenizer.tokenID("é"))))
        #expect(tokenizer.tokenID("e\u{301}") != tokenizer.tokenID("é"))
        // Control tokens are parsed only when asked.
        let turn = try #require(tokenizer.tokenID("<start_of_turn>"))
        #expect(tokenizer.encode("<start_of_turn>", parseSpecialTokens: true) == [2, turn])
        #expect(!tokenizer.encode("<start_of_turn>", parseSpecialTokens: false).contains(turn))
    }
}
