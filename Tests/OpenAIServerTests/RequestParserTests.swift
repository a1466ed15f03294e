import Engine
import Foundation
import HTTPTypes
import OpenAIAPI
import Testing

/// `RequestParser` on its own, without a server (the request fuzzer's contract, and the inputs
/// it found): bodies in, a job the engine accepts or a 4xx `APIError` out.
@Suite struct RequestParserTests {
    /// The tiny model's parser (a context of 256 tokens) behind a KV budget of 200 tokens.
    func parser() throws -> RequestParser {
        RequestParser(bundle: try TinyBundle.load(), modelName: "tiny", tokenCapacity: 200)
    }

    func body(_ text: String) throws(APIError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    /// The error a body gets from a route, or nil when it parses.
    func refusal(_ text: String, chat: Bool = false) throws -> APIError? {
        let p = try parser()
        do throws(APIError) {
            _ = try chat ? p.chat(body(text)) : p.completion(body(text))
            return nil
        } catch {
            return error
        }
    }

    @Test func theParserNeedsNoWeights() throws {
        let bundle = try TinyBundle.load()
        let fromParts = RequestParser(
            tokenizer: bundle.tokenizer, chatTemplate: bundle.chatTemplate, stopTokens: ModelBundle.stopTokens(of: bundle.tokenizer),
            contextLength: 256, vocabularySize: bundle.tokenizer.vocabularySize, modelName: "tiny")
        let fromBundle = RequestParser(bundle: bundle, modelName: "tiny")
        let chat = #"{"messages": [{"role": "user", "content": "the heron"}], "max_tokens": 3}"#
        #expect(try fromParts.chat(try body(chat)).request.promptTokens == fromBundle.chat(try body(chat)).request.promptTokens)
        #expect(fromParts.stopTokens == bundle.stopTokens)
        #expect(fromBundle.contextLength == bundle.model.configuration.contextLength)
        #expect(fromBundle.vocabularySize == bundle.model.configuration.vocabularySize)
    }

    /// A job the parser passes is one the engine accepts.
    @Test func aParsedJobPassesTheEnginesChecks() throws {
        let p = try parser()
        let job = try p.completion(try body(#"{"prompt": "the cat", "max_tokens": 8, "temperature": 0.5, "top_k": -1, "n": 2, "logprobs": 3}"#))
        try job.request.validate(contextLength: p.contextLength, vocabularySize: p.vocabularySize)
        #expect(job.request.stop.maxTokens == 8 && job.request.sampleCount == 2 && job.request.logprobCount == 3)
        #expect(job.request.sampling.topK == 0)
        // By default a chat may generate as many tokens as the context and the KV budget leave.
        let chat = try p.chat(try body(#"{"messages": [{"role": "user", "content": "hi"}]}"#))
        #expect(chat.request.promptTokens.count + chat.request.stop.maxTokens == 200)
    }

    @Test func tokenizeAndDetokenizeBodies() throws {
        let p = try parser()
        let tokens = try p.tokenize(try body(#"{"prompt": "the heron"}"#))
        #expect(p.tokenizer.decode(tokens) == "the heron")
        #expect(try p.detokenize(try body("{\"tokens\": \(tokens)}")) == tokens)
        #expect(try p.tokenize(try body(#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": "ignored"}"#)).contains(1))
        for bad in [#"{"nothing": 1}"#, #"{"prompt": "hi", "model": "other"}"#, #"{"tokens": [1, 1000000]}"#, #"{"tokens": "1"}"#] {
            do throws(APIError) {
                _ = try bad.contains("tokens") ? p.detokenize(body(bad)) : p.tokenize(body(bad))
                Issue.record("\(bad) passed")
            } catch {
                #expect((400..<500).contains(error.status.code), "\(bad): \(error)")
            }
        }
    }

    /// Found by the request fuzzer (seed `huge-max-tokens.json`): a `max_tokens` near `Int.max`
    /// overflowed `prompt + max_tokens` in the context check, a trap that took the whole server
    /// down, where a 400 naming the field is due.
    @Test func maxTokensNearIntMaxIsA400NotATrap() throws {
        for (text, chat, field) in [
            (#"{"prompt": "hi", "max_tokens": 9223372036854775807}"#, false, "max_tokens"),
            (#"{"prompt": [1, 2, 3], "max_tokens": 9223372036854775805}"#, false, "max_tokens"),
            (#"{"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 9223372036854775807}"#, true, "max_completion_tokens"),
            (#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 9223372036854775807}"#, true, "max_tokens"),
        ] {
            let error = try #require(try refusal(text, chat: chat), "\(text) passed")
            #expect(error.status == .badRequest, "\(text): \(error)")
            #expect(error.param == field && error.code == "context_length_exceeded", "\(text): \(error)")
            #expect(error.message.contains("exceed the model's context of 256"), "\(text): \(error.message)")
        }
    }
}
