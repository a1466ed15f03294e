import Foundation
import GGUF
import Testing
import TestSupport
import Tokenizers

/// The tokenizer of the real SmolLM2-135M-Instruct file against the reference ids
/// (shared/reference/reference.json): every prompt, the chat template, the greedy
/// continuations' text and 35 KB of GPL-3 text. Skips outside CI when the files are missing;
/// fails in CI.
@Suite(.enabled(if: RealModel.shouldRun), .serialized)
struct RealModelTokenizerTests {
    static let tokenizer = Result { try loadTokenizer(path: RealModel.path) }

    /// The arrays of `tokenizer.ggml.*` handed to the tokenizer, as the engine's adapter does.
    static func loadTokenizer(path: String) throws -> BPETokenizer {
        let file = try GGUFFile(path: path)
        func value<T>(_ key: String, _ convert: (GGUFValue) -> T?) throws(GGUFError) -> T {
            guard let value = file.metadata[key].flatMap(convert) else {
                throw .wrongValueType(key: key, expected: "\(T.self)")
            }
            return value
        }
        guard try value("tokenizer.ggml.model", \.string) == "gpt2" else {
            throw GGUFError.wrongValueType(key: "tokenizer.ggml.model", expected: "gpt2")
        }
        return try BPETokenizer(
            tokens: value("tokenizer.ggml.tokens", \.stringArray),
            merges: value("tokenizer.ggml.merges", \.stringArray),
            tokenTypes: value("tokenizer.ggml.token_type", \.int32Array),
            preTokenizer: PreTokenizer(ggmlName: value("tokenizer.ggml.pre", \.string)),
            bosTokenID: value("tokenizer.ggml.bos_token_id", \.int).map(Int32.init),
            eosTokenID: value("tokenizer.ggml.eos_token_id", \.int).map(Int32.init),
            addBOS: value("tokenizer.ggml.add_bos_token", \.bool))
    }

    /// A load failure with the hint that fixes it; thrown, so the test fails with this message.
    struct LoadFailure: Error, CustomStringConvertible {
        var underlying: any Error
        var description: String { "cannot load the tokenizer (run scripts/fetch-model): \(underlying)" }
    }

    func loadTokenizer() throws -> BPETokenizer {
        try Self.tokenizer.mapError { LoadFailure(underlying: $0) }.get()
    }

    @Test func vocabularyIsSmolLM2s() throws {
        let tokenizer = try loadTokenizer()
        #expect(tokenizer.vocabularySize == 49_152)
        #expect(tokenizer.mergeCount == 48_900)
        #expect(tokenizer.preTokenizer == .smollm)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2 && !tokenizer.addBOS)
        #expect(tokenizer.tokenID("<|im_end|>") == 2)
        #expect((0..<17).allSatisfy { tokenizer.tokenType($0) == .control })
    }

    @Test func promptsEncodeToTheReferenceIDs() throws {
        let tokenizer = try loadTokenizer()
        for prompt in try ReferenceFile.load().prompts {
            let ids = tokenizer.encode(prompt.prompt)
            #expect(ids == prompt.ids, "\(prompt.name)")
            #expect(tokenizer.decode(ids) == prompt.prompt, "\(prompt.name)")
        }
    }

    @Test func chatTemplateRendersTheReferenceChatMLPrompt() throws {
        let tokenizer = try loadTokenizer()
        let reference = try #require(try ReferenceFile.load().prompts.first { $0.name == "chatml_paged_attention" })
        let rendered = ChatTemplate.smolLM2.render([.user("What is paged attention?")])
        #expect(rendered == reference.prompt)
        #expect(tokenizer.encode(rendered) == reference.ids)
    }

    /// The reference writes control tokens as their text and a character cut off at the end as
    /// U+FFFD: exactly `decode`, and the streamed pieces add up to it.
    @Test func greedyContinuationsDecodeToTheReferenceText() throws {
        let tokenizer = try loadTokenizer()
        for prompt in try ReferenceFile.load().prompts {
            #expect(tokenizer.decode(prompt.greedy.ids) == prompt.greedy.text, "\(prompt.name)")
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            let streamed = prompt.greedy.ids.map { decoder.append($0) }.joined() + decoder.finish()
            #expect(streamed == prompt.greedy.text, "\(prompt.name)")
        }
    }

    @Test func gplTextMatchesTheReferenceIDs() throws {
        let tokenizer = try loadTokenizer()
        let perplexity = try ReferenceFile.load().perplexity
        let url = RealModel.referenceDirectory.appendingPathComponent(perplexity.path)
        let text = try String(contentsOf: url, encoding: .utf8)
        let ids = tokenizer.encode(text)
        #expect(ids.count == perplexity.n_tokens_in_file)
        #expect(Array(ids.prefix(16)) == perplexity.first_16_ids)
        #expect(SHA256.hexDigest(littleEndianInt32: Array(ids.prefix(perplexity.n_tokens_used)))
            == perplexity.ids_sha256_le_int32)
        #expect(tokenizer.decode(ids) == text)
        // A second encoding is served from the piece cache and must not differ.
        #expect(tokenizer.encode(text) == ids)
    }

    /// Text that is not in the reference, checked against Hugging Face `tokenizers` (Rust) with
    /// this vocabulary, its merges and `Digits(individual_digits) + ByteLevel` when written.
    /// A byte without a token (U+0004 here) is dropped and its neighbours merge, as there.
    @Test func trickyTextMatchesHuggingFace() throws {
        let tokenizer = try loadTokenizer()
        let expected: [(String, [Int32])] = [
            ("I'm don't they're we've you'll he'd it's DON'T",
             [57, 5248, 1326, 982, 502, 2316, 392, 3543, 346, 3060, 384, 6737, 357, 506, 422, 2154, 23, 68]),
            ("In 1905, 3.14159 and 1,000,000.",
             [788, 216, 33, 41, 32, 37, 28, 216, 35, 30, 33, 36, 33, 37, 41, 284, 216, 33, 28, 32, 32, 32, 28, 32, 32, 32, 30]),
            ("Ⅻ ½ ² ٣٤ x²",
             [173, 223, 121, 216, 16738, 216, 19133, 216, 164, 113, 164, 114, 1792, 19133]),
            ("a\u{A0}b \u{A0}c\u{A0} d",
             [81, 15442, 82, 216, 15442, 83, 15442, 287]),
            ("line one\r\nline two\r\n\r\n",
             [1311, 582, 201, 198, 1311, 827, 18682]),
            ("👨\u{200D}👩\u{200D}👧 family 👍🏽!",
             [10813, 235, 118, 321, 231, 10813, 235, 119, 321, 231, 10813, 235, 117, 1564, 15107, 235, 231, 10813, 233, 138, 17]),
            ("x<|im_end|>y<|im_start|>assistant\n",
             [104, 2, 105, 1, 520, 9531, 198]),
            ("trailing   ",
             [4861, 4966, 333]),
            ("  two  spaces  inside",
             [216, 827, 216, 5600, 216, 2972]),
            ("café naïve e\u{301} 日本語 Привет",
             [83, 1939, 2756, 15486, 46494, 297, 151, 219, 17097, 241, 115, 40993, 179, 120, 248, 5470, 249, 46879, 16464, 32547]),
            ("\tdef f(x):\n\t\treturn x  # tab\n",
             [197, 1604, 275, 24, 104, 727, 3354, 197, 5406, 1792, 216, 907, 10147, 198]),
            ("<|im_start <|endoftext|>|>",
             [44, 108, 306, 79, 3738, 216, 0, 108, 46]),
        ]
        for (text, ids) in expected {
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
            #expect(tokenizer.decode(ids) == text)
        }
        #expect(tokenizer.encode("!\u{4}!") == [10095])
        #expect(tokenizer.decode([10095]) == "!!")
    }
}
