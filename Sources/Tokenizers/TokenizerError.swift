/// Why a tokenizer could not be built from the arrays it was given. Each case names the offending
/// value, so a bad model file is diagnosed from the message alone.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The pre-tokenizer name (`tokenizer.ggml.pre`) is not one this target implements.
    case unknownPreTokenizer(String)
    /// The vocabulary is empty or has more tokens than an `Int32` id can address.
    case vocabularySize(Int)
    /// `tokenTypes` must have one entry per token.
    case tokenTypeCountMismatch(tokenCount: Int, tokenTypeCount: Int)
    /// A token type outside llama.cpp's `LLAMA_TOKEN_TYPE_*` values 0…6.
    case unknownTokenType(tokenID: Int32, value: Int32)
    /// A normal token holds a scalar that is not one of the 256 byte-level scalars.
    case tokenNotByteLevel(tokenID: Int32, token: String)
    /// A merge is not two non-empty tokens separated by one space.
    case malformedMerge(rank: Int, entry: String)
    /// A merge names a token, or produces one, that the vocabulary does not have.
    case mergeTokenNotInVocabulary(rank: Int, entry: String, token: String)
    /// A configured token id (`bos`, `eos`) is not in the vocabulary.
    case tokenIDOutOfRange(role: String, id: Int32, vocabularySize: Int)
    /// `addBOS` is set but no BOS token id was given.
    case missingBOSToken
    /// `scores` must have one entry per token.
    case scoreCountMismatch(tokenCount: Int, scoreCount: Int)
    /// A byte token is not spelled `<0xNN>`.
    case malformedByteToken(tokenID: Int32, token: String)

    public var description: String {
        switch self {
        case .unknownPreTokenizer(let name):
            "unknown pre-tokenizer \"\(name)\" (supported: \(PreTokenizer.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .vocabularySize(let count):
            "vocabulary must hold 1...\(Int32.max) tokens, got \(count)"
        case .tokenTypeCountMismatch(let tokenCount, let tokenTypeCount):
            "\(tokenTypeCount) token types for \(tokenCount) tokens"
        case .unknownTokenType(let tokenID, let value):
            "token \(tokenID) has unknown token type \(value)"
        case .tokenNotByteLevel(let tokenID, let token):
            "normal token \(tokenID) \(token.debugDescription) is not in GPT-2 byte-level form"
        case .malformedMerge(let rank, let entry):
            "merge \(rank) \(entry.debugDescription) is not two tokens separated by one space"
        case .mergeTokenNotInVocabulary(let rank, let entry, let token):
            "merge \(rank) \(entry.debugDescription): \(token.debugDescription) is not in the vocabulary"
        case .tokenIDOutOfRange(let role, let id, let vocabularySize):
            "\(role) token id \(id) is outside the vocabulary of \(vocabularySize) tokens"
        case .missingBOSToken:
            "addBOS is set but there is no BOS token id"
        case .scoreCountMismatch(let tokenCount, let scoreCount):
            "\(scoreCount) scores for \(tokenCount) tokens"
        case .malformedByteToken(let tokenID, let token):
            "byte token \(tokenID) \(token.debugDescription) is not of the form <0xNN>"
        }
    }
}
