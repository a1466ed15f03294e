import Engine
import Foundation
import Sampling
import Tokenizers

/// What a `/v1/completions` or `/v1/chat/completions` body asks for, checked: the engine request
/// and how to answer (streamed or not, echo, logprobs).
public struct GenerationJob: Sendable {
    public enum Kind: Sendable { case completion, chat }
    public var kind: Kind
    public var request: GenerationRequest
    public var stream: Bool
    public var includeUsage: Bool
    /// Completions: put the prompt's text before the completion.
    public var echoText: String?
    /// Completions: `logprobs` N; chat: `top_logprobs` when `logprobs` is true.
    public var wantsLogprobs: Bool
}

/// Turns request bodies into ``GenerationJob``s (and `/tokenize` and `/detokenize` bodies into
/// token ids), naming the field at fault when it cannot. It needs only what requests are checked
/// against: the tokenizer, the chat template, the stop tokens, the context and vocabulary sizes,
/// and the model's name (no weights, so the request fuzzer runs on a vocabulary file alone).
public struct RequestParser: Sendable {
    public let tokenizer: any Tokenizer
    public let chatTemplate: ChatTemplate
    /// Tokens that end generation by default (the model's end-of-sequence and end-of-turn).
    public let stopTokens: Set<Int32>
    /// The model's context in tokens: a prompt and its `max_tokens` must fit in it.
    public let contextLength: Int
    /// Valid token ids are `0..<vocabularySize`.
    public let vocabularySize: Int
    /// The name requests must give in `model` (or leave out).
    public let modelName: String
    /// The most tokens one request can hold in KV memory (the engine's budget).
    public var tokenCapacity: Int

    public init(
        tokenizer: any Tokenizer, chatTemplate: ChatTemplate, stopTokens: Set<Int32>, contextLength: Int, vocabularySize: Int,
        modelName: String, tokenCapacity: Int = .max
    ) {
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.stopTokens = stopTokens
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.modelName = modelName
        self.tokenCapacity = tokenCapacity
    }

    /// The parser for requests to `bundle`'s model.
    public init(bundle: ModelBundle, modelName: String, tokenCapacity: Int = .max) {
        self.init(
            tokenizer: bundle.tokenizer, chatTemplate: bundle.chatTemplate, stopTokens: bundle.stopTokens,
            contextLength: bundle.model.configuration.contextLength, vocabularySize: bundle.model.configuration.vocabularySize,
            modelName: modelName, tokenCapacity: tokenCapacity)
    }

    public func completion(_ body: JSONValue) throws(APIError) -> GenerationJob {
        let f = try JSONFields(body)
        try checkModel(f)
        guard let promptValue = f["prompt"] else { throw .invalidRequest("'prompt' is required", param: "prompt") }
        let tokens = try promptTokens(promptValue)
        let echo = try f.bool("echo") ?? false
        let logprobs = try f.int("logprobs")
        if let logprobs, !(0...GenerationRequest.maxLogprobCount).contains(logprobs) {
            throw .invalidRequest("'logprobs' must be from 0 to \(GenerationRequest.maxLogprobCount), got \(logprobs)", param: "logprobs")
        }
        if echo && logprobs != nil {
            throw .invalidRequest("'echo' with 'logprobs' (log-probabilities of the prompt's tokens) is not supported", param: "echo")
        }
        if f["suffix"] != nil { throw .invalidRequest("'suffix' is not supported", param: "suffix") }
        let n = try sampleCount(f)
        if let bestOf = try f.int("best_of"), bestOf != n {
            throw .invalidRequest("'best_of' other than 'n' is not supported", param: "best_of")
        }
        let maxTokens = try f.int("max_tokens") ?? 16
        var request = try common(f, tokens: tokens, maxTokens: maxTokens, maxTokensField: "max_tokens", n: n)
        request.logprobCount = logprobs
        let (stream, includeUsage) = try streaming(f)
        return GenerationJob(
            kind: .completion, request: request, stream: stream, includeUsage: includeUsage,
            echoText: echo ? tokenizer.decode(tokens) : nil, wantsLogprobs: logprobs != nil)
    }

    public func chat(_ body: JSONValue) throws(APIError) -> GenerationJob {
        let f = try JSONFields(body)
        try checkModel(f)
        guard let messagesValue = f["messages"] else { throw .invalidRequest("'messages' is required", param: "messages") }
        guard case .array(let items) = messagesValue else {
            throw .invalidRequest("'messages' must be an array of messages, got \(messagesValue.typeName)", param: "messages")
        }
        guard !items.isEmpty else { throw .invalidRequest("'messages' is empty; send at least one message", param: "messages") }
        var messages: [ChatMessage] = []
        for (i, item) in items.enumerated() {
            let m = try JSONFields(item, prefix: "messages[\(i)].", what: "'messages[\(i)]'")
            guard let role = try m.string("role") else { throw .invalidRequest("'messages[\(i)].role' is required", param: "messages[\(i)].role") }
            guard ["system", "user", "assistant", "developer", "tool"].contains(role) else {
                throw .invalidRequest("'messages[\(i)].role' must be system, user, assistant, developer or tool, got '\(role)'", param: "messages[\(i)].role")
            }
            messages.append(ChatMessage(role: role == "developer" ? "system" : role, content: try content(m["content"], index: i)))
        }
        let logprobs = try f.bool("logprobs") ?? false
        let top = try f.int("top_logprobs")
        if let top {
            guard logprobs else { throw .invalidRequest("'top_logprobs' needs 'logprobs': true", param: "top_logprobs") }
            guard (0...GenerationRequest.maxLogprobCount).contains(top) else {
                throw .invalidRequest("'top_logprobs' must be from 0 to \(GenerationRequest.maxLogprobCount), got \(top)", param: "top_logprobs")
            }
        }
        let tokens = chatTokens(messages)
        let n = try sampleCount(f)
        let field = f["max_completion_tokens"] != nil ? "max_completion_tokens" : "max_tokens"
        // By default as many as fit: in the context and in the KV budget.
        let maxTokens = try f.int(field) ?? max(1, min(contextLength, tokenCapacity) - tokens.count)
        var request = try common(f, tokens: tokens, maxTokens: maxTokens, maxTokensField: field, n: n)
        request.logprobCount = logprobs ? (top ?? 0) : nil
        let (stream, includeUsage) = try streaming(f)
        return GenerationJob(kind: .chat, request: request, stream: stream, includeUsage: includeUsage, echoText: nil, wantsLogprobs: logprobs)
    }

    /// `POST /tokenize`: the tokens of `prompt` (text; `add_special_tokens`, default true, parses
    /// control tokens written in it) or of `messages` (a chat, through the chat template, checked
    /// as `/v1/chat/completions` checks it).
    public func tokenize(_ body: JSONValue) throws(APIError) -> [Int32] {
        let f = try JSONFields(body)
        try checkModel(f)
        if let text = try f.string("prompt") {
            return tokenizer.encode(text, parseSpecialTokens: try f.bool("add_special_tokens") ?? true)
        } else if f["messages"] != nil {
            return try chat(.object(f.fields.filter { ["messages", "model"].contains($0.key) })).request.promptTokens
        }
        throw .invalidRequest("send 'prompt' (text) or 'messages' (a chat)", param: "prompt")
    }

    /// `POST /detokenize`: the token ids of `tokens`, each inside the vocabulary.
    public func detokenize(_ body: JSONValue) throws(APIError) -> [Int32] {
        let f = try JSONFields(body)
        guard let value = f["tokens"] else { throw .invalidRequest("'tokens' is required", param: "tokens") }
        guard case .array(let items) = value else { throw .invalidRequest("'tokens' must be an array of token ids, got \(value.typeName)", param: "tokens") }
        var tokens: [Int32] = []
        for item in items {
            guard case .integer(let id) = item else { throw .invalidRequest("'tokens' must hold integer token ids, got \(item.typeName)", param: "tokens") }
            guard id >= 0, id < vocabularySize else {
                throw .invalidRequest("token id \(id) is outside the vocabulary (0..<\(vocabularySize))", param: "tokens", code: "invalid_token")
            }
            tokens.append(Int32(id))
        }
        return tokens
    }

    // MARK: Fields both routes share

    private func checkModel(_ f: JSONFields) throws(APIError) {
        if let model = try f.string("model"), model != modelName {
            throw .notFound("the model '\(model)' does not exist; this server serves '\(modelName)'", param: "model", code: "model_not_found")
        }
    }

    private func sampleCount(_ f: JSONFields) throws(APIError) -> Int {
        let n = try f.int("n") ?? 1
        guard (1...16).contains(n) else { throw .invalidRequest("'n' must be from 1 to 16, got \(n)", param: "n") }
        return n
    }

    private func streaming(_ f: JSONFields) throws(APIError) -> (stream: Bool, includeUsage: Bool) {
        let stream = try f.bool("stream") ?? false
        let options = try f.object("stream_options")
        if options != nil && !stream {
            throw .invalidRequest("'stream_options' is only allowed when 'stream' is true", param: "stream_options")
        }
        return (stream, try options?.bool("include_usage") ?? false)
    }

    private func common(_ f: JSONFields, tokens: [Int32], maxTokens: Int, maxTokensField: String, n: Int) throws(APIError) -> GenerationRequest {
        guard !tokens.isEmpty else { throw .invalidRequest("the prompt is empty", param: f["messages"] == nil ? "prompt" : "messages") }
        guard tokens.count < contextLength else {
            throw .invalidRequest(
                "the prompt has \(tokens.count) tokens, but the model's context holds \(contextLength) tokens (the prompt must leave room for at least one generated token)",
                param: f["messages"] == nil ? "prompt" : "messages", code: "context_length_exceeded")
        }
        guard maxTokens >= 1 else { throw .invalidRequest("'\(maxTokensField)' must be at least 1, got \(maxTokens)", param: maxTokensField) }
        // `maxTokens <= contextLength - tokens.count`, not `tokens.count + maxTokens <= ...`: a client's
        // `max_tokens` may be as large as Int64.max, and the sum would overflow (a trap).
        guard maxTokens <= contextLength - tokens.count else {
            throw .invalidRequest(
                "'\(maxTokensField)' is \(maxTokens), but the prompt's \(tokens.count) tokens plus \(maxTokens) exceed the model's context of \(contextLength) tokens (at most \(contextLength - tokens.count))",
                param: maxTokensField, code: "context_length_exceeded")
        }
        for penalty in ["presence_penalty", "frequency_penalty"] {
            if let p = try f.double(penalty), p != 0 {
                throw .invalidRequest("'\(penalty)' is not supported by this server's sampler (only 0 is accepted), got \(p)", param: penalty)
            }
        }
        if let bias = f["logit_bias"], bias != .object([:]) {
            throw .invalidRequest("'logit_bias' is not supported", param: "logit_bias")
        }
        let temperature = try f.double("temperature") ?? 1
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw .invalidRequest("'temperature' must be from 0 to 2, got \(temperature)", param: "temperature")
        }
        let topP = try f.double("top_p") ?? 1
        guard topP > 0, topP <= 1 else { throw .invalidRequest("'top_p' must be in (0, 1], got \(topP)", param: "top_p") }
        let topK = try f.int("top_k") ?? 0
        guard topK >= -1 else { throw .invalidRequest("'top_k' must be -1 or 0 (off) or a positive count, got \(topK)", param: "top_k") }
        let minP = try f.double("min_p") ?? 0
        guard minP >= 0, minP < 1 else { throw .invalidRequest("'min_p' must be in [0, 1), got \(minP)", param: "min_p") }
        let seed = try f.int("seed").map { UInt64(bitPattern: Int64($0)) }
        let stops = try f.strings("stop") ?? []
        guard stops.count <= 8 else { throw .invalidRequest("'stop' takes at most 8 strings, got \(stops.count)", param: "stop") }
        let sampling = SamplingParameters(
            temperature: Float(temperature), topK: max(0, topK), topP: Float(topP), minP: Float(minP), seed: seed)
        return GenerationRequest(
            promptTokens: tokens, sampling: sampling,
            stop: StopConditions(maxTokens: maxTokens, stopTokens: stopTokens, stopStrings: stops.filter { !$0.isEmpty }),
            sampleCount: n)
    }

    // MARK: Prompts

    /// A prompt as text, a list of token ids, or a list holding one of those.
    private func promptTokens(_ value: JSONValue) throws(APIError) -> [Int32] {
        switch value {
        case .string(let text): return tokenizer.encode(text)
        case .array(let items):
            if items.count == 1, case .string(let text) = items[0] { return tokenizer.encode(text) }
            if items.count == 1, case .array(let inner) = items[0] { return try tokenIDs(inner) }
            if items.allSatisfy({ if case .string = $0 { true } else { false } }), items.count > 1 {
                throw .invalidRequest("'prompt' holds \(items.count) prompts; send one prompt per request", param: "prompt")
            }
            return try tokenIDs(items)
        default:
            throw .invalidRequest("'prompt' must be a string or an array of token ids, got \(value.typeName)", param: "prompt")
        }
    }

    private func tokenIDs(_ items: [JSONValue]) throws(APIError) -> [Int32] {
        let vocabulary = vocabularySize
        var tokens: [Int32] = []
        for item in items {
            guard case .integer(let id) = item else {
                throw .invalidRequest("'prompt' as a list must hold integer token ids, got \(item.typeName)", param: "prompt")
            }
            guard id >= 0, id < vocabulary else {
                throw .invalidRequest("token id \(id) is outside the vocabulary (0..<\(vocabulary))", param: "prompt", code: "invalid_token")
            }
            tokens.append(Int32(id))
        }
        return tokens
    }

    /// A message's text: a string, or an array of `{"type": "text", "text": ...}` parts.
    private func content(_ value: JSONValue?, index i: Int) throws(APIError) -> String {
        switch value {
        case .string(let s)?: return s
        case .array(let parts)?:
            var text = ""
            for (j, part) in parts.enumerated() {
                let p = try JSONFields(part, prefix: "messages[\(i)].content[\(j)].", what: "'messages[\(i)].content[\(j)]'")
                guard try p.string("type") == "text", let t = try p.string("text") else {
                    throw .invalidRequest("'messages[\(i)].content[\(j)]' must be a text part ({\"type\": \"text\", \"text\": ...})", param: "messages[\(i)].content")
                }
                text += t
            }
            return text
        case nil: return ""
        case let other?:
            throw .invalidRequest("'messages[\(i)].content' must be a string or an array of text parts, got \(other.typeName)", param: "messages[\(i)].content")
        }
    }

    /// The conversation through the model's chat template: the template's markup becomes control
    /// tokens, the messages' text stays plain text (a message cannot forge markup).
    func chatTokens(_ messages: [ChatMessage]) -> [Int32] {
        let placeholder = "\u{0}"
        let rendered = chatTemplate.render(messages.map { ChatMessage(role: $0.role, content: placeholder) })
        let markup = rendered.components(separatedBy: placeholder)
        var tokens: [Int32] = []
        // Only the first part keeps the BOS token the tokenizer may put in front.
        func append(_ text: String, special: Bool) {
            let ids = tokenizer.encode(text, parseSpecialTokens: special)
            tokens += !tokens.isEmpty && ids.first == tokenizer.bosTokenID ? ids.dropFirst() : ids[...]
        }
        for (i, part) in markup.enumerated() {
            append(part, special: true)
            if i < messages.count { append(messages[i].content.replacingOccurrences(of: placeholder, with: ""), special: false) }
        }
        return tokens
    }
}
