import Engine
import Foundation
import FuzzSupport
import GGUF
import HTTPTypes
import OpenAIAPI
import Sampling
import Tokenizers

/// libFuzzer entry: arbitrary bytes as a request body, through the server's own decoding
/// (`JSONValue.parse`, then `RequestParser`'s completion, chat, tokenize and detokenize, every
/// route on every input), with the real SmolLM2 vocabulary (`Fuzz/vocabulary/smollm2.gguf`,
/// read by the server's tokenizer loader) and its chat template.
///
/// What must hold for every input, route by route: either an ``APIError`` with a 4xx status
/// whose JSON body parses back to its message, or a ``GenerationJob`` the engine accepts — a
/// non-empty prompt of ids inside the vocabulary that leaves room in the context for
/// `max_tokens` ≥ 1, sampling values in range (`SamplingParameters.validate`), 1 to 16 samples,
/// at most 20 logprobs, at most 8 non-empty stop strings, the model's stop tokens, and
/// `GenerationRequest.validate(contextLength:vocabularySize:)` (what `Engine.validate` checks
/// before the KV budget) passing; a job past the KV budget is refused by the engine, with a 4xx.
/// Never a 5xx, a trap or a hang (libFuzzer's -timeout).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let parser = Fixture.parser
    let body: JSONValue
    do { body = try JSONValue.parse(bytes) } catch {
        refused(error, "the body")
        return 0
    }
    for kind in [GenerationJob.Kind.completion, .chat] {
        do {
            let job = try kind == .chat ? parser.chat(body) : parser.completion(body)
            check(job, kind: kind, parser: parser)
        } catch {
            refused(error, "\(kind)")
        }
    }
    do {
        let tokens = try parser.tokenize(body)
        precondition(tokens.allSatisfy { $0 >= 0 && Int($0) < parser.vocabularySize }, "/tokenize: an id outside the vocabulary")
    } catch {
        refused(error, "/tokenize")
    }
    do {
        let tokens = try parser.detokenize(body)
        precondition(tokens.allSatisfy { $0 >= 0 && Int($0) < parser.vocabularySize }, "/detokenize: an id outside the vocabulary")
        _ = parser.tokenizer.decode(tokens)
    } catch {
        refused(error, "/detokenize")
    }
    return 0
}

/// The server's parser for SmolLM2 (its context of 8,192 tokens) behind a KV budget of 6,144
/// tokens, below the context, so the budget's own checks are reached too.
enum Fixture {
    static let contextLength = 8192
    static let tokenCapacity = 6144

    static let parser: RequestParser = {
        let tokenizer: any Tokenizer
        do {
            tokenizer = try ModelBundle.tokenizer(gguf: try GGUFFile(path: Vocabulary.path))
        } catch {
            fatalError("cannot read the vocabulary \(Vocabulary.path): \(error)")
        }
        return RequestParser(
            tokenizer: tokenizer, chatTemplate: .smolLM2, stopTokens: ModelBundle.stopTokens(of: tokenizer),
            contextLength: contextLength, vocabularySize: tokenizer.vocabularySize, modelName: "smollm2",
            tokenCapacity: tokenCapacity)
    }()
}

/// A refusal must be the client's fault (4xx), say why, and serialize to OpenAI's error shape.
func refused(_ error: APIError, _ route: String) {
    precondition((400..<500).contains(error.status.code), "\(route): status \(error.status.code) for a bad request: \(error)")
    precondition(!error.message.isEmpty && !error.type.isEmpty, "\(route): an error without a message or type")
    let object = try? JSONSerialization.jsonObject(with: Data(error.body)) as? [String: Any]
    let fields = object?["error"] as? [String: Any]
    precondition(fields?["message"] as? String == error.message, "\(route): the error body does not carry the message: \(error.body)")
}

/// A job must be one the engine runs: every field the contract bounds, inside its bounds.
func check(_ job: GenerationJob, kind: GenerationJob.Kind, parser: RequestParser) {
    let r = job.request
    let prompt = r.promptTokens
    let what = "\(kind)"
    precondition(job.kind == kind, "\(what): the job's kind differs")
    precondition(!prompt.isEmpty, "\(what): an empty prompt passed")
    precondition(prompt.allSatisfy { $0 >= 0 && Int($0) < parser.vocabularySize }, "\(what): a prompt id outside the vocabulary")
    precondition(prompt.count < parser.contextLength, "\(what): a prompt of \(prompt.count) tokens fills the context")
    precondition(r.stop.maxTokens >= 1, "\(what): max_tokens \(r.stop.maxTokens)")
    precondition(r.stop.maxTokens <= parser.contextLength - prompt.count, "\(what): \(prompt.count) + \(r.stop.maxTokens) tokens exceed the context")
    precondition((1...16).contains(r.sampleCount), "\(what): n = \(r.sampleCount)")
    if let k = r.logprobCount { precondition((0...GenerationRequest.maxLogprobCount).contains(k), "\(what): logprobs \(k)") }
    precondition(job.wantsLogprobs == (r.logprobCount != nil), "\(what): logprobs asked and counted differ")
    let s = r.sampling
    precondition(s.temperature.isFinite && (0...2).contains(s.temperature), "\(what): temperature \(s.temperature)")
    precondition(s.topP > 0 && s.topP <= 1, "\(what): top_p \(s.topP)")
    precondition(s.minP >= 0 && s.minP < 1, "\(what): min_p \(s.minP)")
    precondition(s.topK >= 0, "\(what): top_k \(s.topK)")
    do { try s.validate() } catch { preconditionFailure("\(what): the sampler refuses the parameters: \(error)") }
    precondition(r.stop.stopStrings.count <= 8 && r.stop.stopStrings.allSatisfy { !$0.isEmpty }, "\(what): stop strings \(r.stop.stopStrings)")
    precondition(r.stop.stopTokens == parser.stopTokens, "\(what): the stop tokens are not the model's")
    precondition(!job.includeUsage || job.stream, "\(what): include_usage without stream")
    precondition(kind == .completion || job.echoText == nil, "\(what): echo on a chat")
    // What the server does next: the engine's own check, then its KV budget.
    do {
        try r.validate(contextLength: parser.contextLength, vocabularySize: parser.vocabularySize)
    } catch {
        preconditionFailure("\(what): the parser passed a request the engine refuses: \(error)")
    }
    let reserved = min(prompt.count + r.stop.maxTokens, parser.contextLength)
    if reserved > parser.tokenCapacity {
        refused(APIError(EngineError.exceedsKVBudget(tokenCount: reserved, budgetTokens: parser.tokenCapacity)), "\(what) past the KV budget")
    }
}

@_cdecl("FuzzRequest_main")
public func fuzzRequestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    // Read the vocabulary before the clock starts: under coverage and ASan it takes seconds,
    // which libFuzzer's per-input timeout would otherwise charge to the first input.
    _ = Fixture.parser
    return FuzzDriver.run(argc, argv, fuzzRequest)
}
