import Testing
import Tokenizers

/// Every inconsistency in the arrays of a model file is a typed error naming the culprit.
@Suite struct TokenizerErrorTests {
    /// "a", "b", "ab", "<s>" (control).
    static let tokens = ["a", "b", "ab", "<s>"]
    static let types: [Int32] = [1, 1, 1, 3]

    static func make(
        tokens: [String] = tokens, merges: [String] = ["a b"], types: [Int32] = types,
        bos: Int32? = nil, eos: Int32? = nil, addBOS: Bool = false
    ) throws(TokenizerError) -> BPETokenizer {
        try BPETokenizer(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: .gpt2,
                         bosTokenID: bos, eosTokenID: eos, addBOS: addBOS)
    }

    @Test func consistentArraysBuild() throws {
        let tokenizer = try Self.make(bos: 3, eos: 3, addBOS: true)
        #expect(tokenizer.vocabularySize == 4)
        #expect(tokenizer.mergeCount == 1)
        #expect(tokenizer.encode("ab<s>ba") == [3, 2, 3, 1, 0])
    }

    @Test func malformedMerges() {
        for entry in ["ab", "a  b", "a b a", " a", "a ", ""] {
            #expect(throws: TokenizerError.malformedMerge(rank: 1, entry: entry)) {
                try Self.make(merges: ["a b", entry])
            }
        }
    }

    @Test func mergesOutsideTheVocabulary() {
        #expect(throws: TokenizerError.mergeTokenNotInVocabulary(rank: 0, entry: "a c", token: "c")) {
            try Self.make(merges: ["a c"])
        }
        // Both halves exist but their concatenation does not.
        #expect(throws: TokenizerError.mergeTokenNotInVocabulary(rank: 0, entry: "b a", token: "ba")) {
            try Self.make(merges: ["b a"])
        }
    }

    @Test func tokenTypes() {
        #expect(throws: TokenizerError.tokenTypeCountMismatch(tokenCount: 4, tokenTypeCount: 3)) {
            try Self.make(types: [1, 1, 1])
        }
        #expect(throws: TokenizerError.unknownTokenType(tokenID: 2, value: 9)) {
            try Self.make(types: [1, 1, 9, 3])
        }
        // A normal token must be byte-level; a control token may be anything.
        #expect(throws: TokenizerError.tokenNotByteLevel(tokenID: 3, token: "日")) {
            try Self.make(tokens: ["a", "b", "ab", "日"], types: [1, 1, 1, 1])
        }
        #expect(throws: Never.self) { try Self.make(tokens: ["a", "b", "ab", "日"], types: [1, 1, 1, 3]) }
    }

    @Test func specialTokenIDs() {
        #expect(throws: TokenizerError.tokenIDOutOfRange(role: "bos", id: 4, vocabularySize: 4)) {
            try Self.make(bos: 4)
        }
        #expect(throws: TokenizerError.tokenIDOutOfRange(role: "eos", id: -1, vocabularySize: 4)) {
            try Self.make(eos: -1)
        }
        #expect(throws: TokenizerError.missingBOSToken) { try Self.make(addBOS: true) }
        #expect(throws: TokenizerError.vocabularySize(0)) { try Self.make(tokens: [], merges: [], types: []) }
    }

    @Test func messagesNameTheCulprit() {
        #expect(TokenizerError.malformedMerge(rank: 7, entry: "ab").description
            == "merge 7 \"ab\" is not two tokens separated by one space")
        #expect(TokenizerError.mergeTokenNotInVocabulary(rank: 0, entry: "a c", token: "c").description
            .contains("\"c\" is not in the vocabulary"))
    }
}
