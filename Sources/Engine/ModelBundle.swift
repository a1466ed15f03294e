import Foundation
import GGUF
import Llama
import Tokenizers

/// Everything one GGUF file holds for serving: the model, its tokenizer, its chat template and
/// the tokens that end a turn.
public final class ModelBundle: Sendable {
    public let path: String
    public let model: LlamaModel
    /// Byte-level BPE or SentencePiece-style, as the file's `tokenizer.ggml.model` says.
    public let tokenizer: any Tokenizer
    public let chatTemplate: ChatTemplate
    /// Tokens after which generation stops by default: end-of-sequence and end-of-text.
    public let stopTokens: Set<Int32>

    public init(path: String) throws(EngineError) {
        guard FileManager.default.fileExists(atPath: path) else { throw .modelNotFound(path: path) }
        let file: GGUFFile
        do throws(GGUFError) { file = try GGUFFile(path: path) } catch { throw .model(.file(error)) }
        do throws(LlamaError) { model = try LlamaModel(file: file) } catch { throw .model(error) }
        tokenizer = try Self.tokenizer(gguf: file)
        guard tokenizer.vocabularySize == model.configuration.vocabularySize else {
            throw .tokenizerMetadata(
                "the vocabulary has \(tokenizer.vocabularySize) tokens but the model's embedding has \(model.configuration.vocabularySize) rows")
        }
        self.path = path
        // Every model of this family speaks ChatML; SmolLM2's template adds its system prompt.
        let template = file.metadata["tokenizer.chat_template"]?.string ?? ""
        chatTemplate = template.contains("<start_of_turn>") || tokenizer.tokenID("<start_of_turn>") != nil
            ? .gemma : template.contains("SmolLM") ? .smolLM2 : .chatML(defaultSystemPrompt: nil)
        stopTokens = Self.stopTokens(of: tokenizer)
    }

    /// The tokens after which generation stops by default: end-of-sequence, end-of-text and
    /// end-of-turn, those of them `tokenizer`'s vocabulary has.
    public static func stopTokens(of tokenizer: any Tokenizer) -> Set<Int32> {
        var stops: Set<Int32> = []
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        if let endOfText = tokenizer.tokenID("<|endoftext|>") { stops.insert(endOfText) }
        if let endOfTurn = tokenizer.tokenID("<|im_end|>") { stops.insert(endOfTurn) }
        if let endOfTurn = tokenizer.tokenID("<end_of_turn>") { stops.insert(endOfTurn) }
        return stops
    }

    /// Tokens of `text`, after the chat template when `chat` (then control-token markup in the
    /// template becomes control tokens; the user's text is encoded as plain text).
    public func encode(prompt text: String, chat: Bool) -> [Int32] {
        guard chat else { return tokenizer.encode(text) }
        var tokens: [Int32] = []
        // Render the template around a placeholder-free split, so the user cannot forge markup.
        let rendered = chatTemplate.render([.user("\u{0}")])
        let parts = rendered.components(separatedBy: "\u{0}")
        // Only the first part keeps the BOS token the tokenizer may put in front.
        func part(_ text: String, special: Bool) -> ArraySlice<Int32> {
            let ids = tokenizer.encode(text, parseSpecialTokens: special)
            return !tokens.isEmpty && ids.first == tokenizer.bosTokenID ? ids.dropFirst() : ids[...]
        }
        tokens += part(parts[0], special: true)
        tokens += part(text, special: false)
        tokens += part(parts[1], special: true)
        return tokens
    }
}

extension ModelBundle {
    /// The tokenizer a GGUF file describes: `tokenizer.ggml.model` `gpt2` (byte-level BPE) or
    /// `llama` (SentencePiece-style, scores).
    public static func tokenizer(gguf file: GGUFFile) throws(EngineError) -> any Tokenizer {
        guard let kind = file.metadata["tokenizer.ggml.model"] else { throw .tokenizerMetadata("'tokenizer.ggml.model' is missing") }
        switch kind.string {
        case "gpt2": return try BPETokenizer(gguf: file)
        case "llama": return try SentencePieceTokenizer(gguf: file)
        default:
            throw .tokenizerMetadata(
                "tokenizer.ggml.model is \(kind.string.map { "'\($0)'" } ?? "not a string"); PagedFlex reads byte-level BPE ('gpt2') and SentencePiece ('llama') vocabularies")
        }
    }
}

/// Reads `tokenizer.ggml.*` values with errors that name the key.
struct TokenizerMetadata {
    let file: GGUFFile

    func value<T>(_ key: String, _ what: String, _ convert: (GGUFValue) -> T?) throws(EngineError) -> T {
        guard let raw = file.metadata[key] else { throw .tokenizerMetadata("'\(key)' is missing") }
        guard let value = convert(raw) else { throw .tokenizerMetadata("'\(key)' is not \(what)") }
        return value
    }

    func optional<T>(_ key: String, _ what: String, _ convert: (GGUFValue) -> T?) throws(EngineError) -> T? {
        file.metadata[key] == nil ? nil : try value(key, what, convert)
    }

    func tokenID(_ key: String) throws(EngineError) -> Int32? {
        try optional(key, "an integer", \.int).map { Int32(truncatingIfNeeded: $0) }
    }
}

extension SentencePieceTokenizer {
    /// The tokenizer of a GGUF file whose `tokenizer.ggml.model` is `llama`.
    public convenience init(gguf file: GGUFFile) throws(EngineError) {
        let m = TokenizerMetadata(file: file)
        let tokens = try m.value("tokenizer.ggml.tokens", "an array of strings", \.stringArray)
        let scores = try m.optional("tokenizer.ggml.scores", "an array of floats", \.floatArray)
            ?? [Float](repeating: 0, count: tokens.count)
        let types = try m.optional("tokenizer.ggml.token_type", "an array of integers", \.int32Array)
            ?? [Int32](repeating: TokenType.normal.rawValue, count: tokens.count)
        let bos = try m.tokenID("tokenizer.ggml.bos_token_id"), eos = try m.tokenID("tokenizer.ggml.eos_token_id")
        let unknown = try m.tokenID("tokenizer.ggml.unknown_token_id")
        let addBOS = try m.optional("tokenizer.ggml.add_bos_token", "a boolean", \.bool) ?? true
        let addSpacePrefix = try m.optional("tokenizer.ggml.add_space_prefix", "a boolean", \.bool) ?? true
        do throws(TokenizerError) {
            try self.init(
                tokens: tokens, scores: scores, tokenTypes: types, bosTokenID: bos, eosTokenID: eos,
                unknownTokenID: unknown, addBOS: addBOS, addSpacePrefix: addSpacePrefix)
        } catch {
            throw .tokenizer(error)
        }
    }
}

extension BPETokenizer {
    /// The tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata (a byte-level BPE
    /// vocabulary, `tokenizer.ggml.model == "gpt2"`).
    public convenience init(gguf file: GGUFFile) throws(EngineError) {
        let m = TokenizerMetadata(file: file)
        func value<T>(_ key: String, _ what: String, _ convert: (GGUFValue) -> T?) throws(EngineError) -> T {
            try m.value(key, what, convert)
        }
        func optional<T>(_ key: String, _ what: String, _ convert: (GGUFValue) -> T?) throws(EngineError) -> T? {
            try m.optional(key, what, convert)
        }
        let kind = try value("tokenizer.ggml.model", "a string", \.string)
        guard kind == "gpt2" else {
            throw .tokenizerMetadata("tokenizer.ggml.model is '\(kind)'; PagedFlex reads byte-level BPE ('gpt2') vocabularies")
        }
        let tokens = try value("tokenizer.ggml.tokens", "an array of strings", \.stringArray)
        let merges = try value("tokenizer.ggml.merges", "an array of strings", \.stringArray)
        let types = try optional("tokenizer.ggml.token_type", "an array of integers", \.int32Array)
            ?? [Int32](repeating: TokenType.normal.rawValue, count: tokens.count)
        let preName = try optional("tokenizer.ggml.pre", "a string", \.string) ?? "gpt2"
        let bos = try m.tokenID("tokenizer.ggml.bos_token_id")
        let eos = try m.tokenID("tokenizer.ggml.eos_token_id")
        let addBOS = try optional("tokenizer.ggml.add_bos_token", "a boolean", \.bool) ?? false
        do throws(TokenizerError) {
            try self.init(
                tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: try PreTokenizer(ggmlName: preName),
                bosTokenID: bos, eosTokenID: eos, addBOS: addBOS)
        } catch {
            throw .tokenizer(error)
        }
    }
}
