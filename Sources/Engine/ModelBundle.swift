import Foundation
import GGUF
import Llama
import Tokenizers

/// Everything one GGUF file holds for serving: the model, its tokenizer, its chat template and
/// the tokens that end a turn.
public final class ModelBundle: Sendable {
    public let path: String
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate
    /// Tokens after which generation stops by default: end-of-sequence and end-of-text.
    public let stopTokens: Set<Int32>

    public init(path: String) throws(EngineError) {
        guard FileManager.default.fileExists(atPath: path) else { throw .modelNotFound(path: path) }
        let file: GGUFFile
        do throws(GGUFError) { file = try GGUFFile(path: path) } catch { throw .model(.file(error)) }
        do throws(LlamaError) { model = try LlamaModel(file: file) } catch { throw .model(error) }
        tokenizer = try BPETokenizer(gguf: file)
        guard tokenizer.vocabularySize == model.configuration.vocabularySize else {
            throw .tokenizerMetadata(
                "the vocabulary has \(tokenizer.vocabularySize) tokens but the model's embedding has \(model.configuration.vocabularySize) rows")
        }
        self.path = path
        // Every model of this family speaks ChatML; SmolLM2's template adds its system prompt.
        let template = file.metadata["tokenizer.chat_template"]?.string ?? ""
        chatTemplate = template.contains("SmolLM") ? .smolLM2 : .chatML(defaultSystemPrompt: nil)
        var stops: Set<Int32> = []
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        if let endOfText = tokenizer.tokenID("<|endoftext|>") { stops.insert(endOfText) }
        if let endOfTurn = tokenizer.tokenID("<|im_end|>") { stops.insert(endOfTurn) }
        stopTokens = stops
    }

    /// Tokens of `text`, after the chat template when `chat` (then control-token markup in the
    /// template becomes control tokens; the user's text is encoded as plain text).
    public func encode(prompt text: String, chat: Bool) -> [Int32] {
        guard chat else { return tokenizer.encode(text) }
        var tokens: [Int32] = []
        // Render the template around a placeholder-free split, so the user cannot forge markup.
        let rendered = chatTemplate.render([.user("\u{0}")])
        let parts = rendered.components(separatedBy: "\u{0}")
        tokens += tokenizer.encode(parts[0], parseSpecialTokens: true)
        tokens += tokenizer.encode(text, parseSpecialTokens: false)
        tokens += tokenizer.encode(parts[1], parseSpecialTokens: true)
        return tokens
    }
}

extension BPETokenizer {
    /// The tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata (a byte-level BPE
    /// vocabulary, `tokenizer.ggml.model == "gpt2"`).
    public convenience init(gguf file: GGUFFile) throws(EngineError) {
        func value<T>(_ key: String, _ what: String, _ convert: (GGUFValue) -> T?) throws(EngineError) -> T {
            guard let raw = file.metadata[key] else { throw .tokenizerMetadata("'\(key)' is missing") }
            guard let value = convert(raw) else { throw .tokenizerMetadata("'\(key)' is not \(what)") }
            return value
        }
        func optional<T>(_ key: String, _ what: String, _ convert: (GGUFValue) -> T?) throws(EngineError) -> T? {
            file.metadata[key] == nil ? nil : try value(key, what, convert)
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
        let bos = try optional("tokenizer.ggml.bos_token_id", "an integer", \.int).map { Int32(truncatingIfNeeded: $0) }
        let eos = try optional("tokenizer.ggml.eos_token_id", "an integer", \.int).map { Int32(truncatingIfNeeded: $0) }
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
