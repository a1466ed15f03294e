import Engine
import Foundation
import HTTPTypes
import NIOCore
import OpenAIServer
import Sampling
import Testing

/// The HTTP contract on the tiny model, in-process: every route, the SSE framing, every error
/// case in OpenAI's shape with its status, the API key, load shedding, the `pagedflex` object.
@Suite struct ServerContractTests {
    @Test func healthModelsEngineAndMetricsRoutes() async throws {
        try await withServer { client, _ in
            let health = try await client.get("/health")
            #expect(health.status == .ok)
            let models = try await client.get("/v1/models")
            #expect(models.status == .ok)
            let data = try #require(models.object["data"] as? [[String: Any]])
            #expect(data.first?["id"] as? String == "tiny")
            #expect(models.object["object"] as? String == "list")
            #expect(try await client.get("/v1/models/tiny").status == .ok)
            let missing = try await client.get("/v1/models/other")
            #expect(missing.status == .notFound)
            #expect(missing.error?["code"] as? String == "model_not_found")
            let engine = try await client.get("/v1/engine")
            #expect(engine.object["kvMode"] as? String == "paged")
            #expect(engine.object["pageCount"] as? Int == 256)
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("# TYPE vllm:time_to_first_token_seconds histogram"))
            let route = try await client.get("/v1/nothing")
            #expect(route.status == .notFound)
            #expect(route.error?["message"] as? String != nil)
        }
    }

    @Test func healthIs503WhileTheModelLoads() async throws {
        try await withServer(loaded: false) { client, server in
            let health = try await client.get("/health")
            #expect(health.status == .serviceUnavailable)
            #expect(health.headers[.retryAfter] == "1")
            #expect(health.error?["code"] as? String == "model_loading")
            #expect(try await client.post("/v1/completions", ["prompt": "hi"]).status == .serviceUnavailable)
        }
    }

    @Test func completionHasUsageCachedTokensAndThePagedFlexObject() async throws {
        try await withServer { client, _ in
            let prompt = String(repeating: "the cat sat on the mat and ", count: 8)
            let first = try await client.post("/v1/completions", ["model": "tiny", "prompt": prompt, "max_tokens": 5, "temperature": 0])
            #expect(first.status == .ok)
            let o = first.object
            #expect(o["object"] as? String == "text_completion")
            #expect((o["id"] as? String)?.hasPrefix("cmpl-") == true)
            let choice = try #require((o["choices"] as? [[String: Any]])?.first)
            #expect(["stop", "length"].contains(choice["finish_reason"] as? String ?? ""))
            let usage = try #require(o["usage"] as? [String: Any])
            let promptTokens = try #require(usage["prompt_tokens"] as? Int)
            #expect(usage["total_tokens"] as? Int == promptTokens + (usage["completion_tokens"] as? Int ?? -1))
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)
            let p = try #require(o["pagedflex"] as? [String: Any])
            for key in [
                "kv_pages_peak", "kv_pages_shared_peak", "kv_bytes_peak", "kv_partial_page_waste_bytes", "preemptions", "queue_time_s",
                "ttft_s", "prefill_tokens_per_s", "decode_tokens_per_s",
            ] { #expect(p[key] != nil, "pagedflex.\(key)") }
            let pages = try #require(p["kv_pages_peak"] as? Int)
            #expect(pages >= (promptTokens + 15) / 16)
            // The same long prompt again: its full pages come from the prefix cache.
            let second = try await client.post("/v1/completions", ["model": "tiny", "prompt": prompt, "max_tokens": 5, "temperature": 0])
            let cached = try #require(((second.object["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int)
            #expect(cached >= 16 * (promptTokens / 16 - 1) && cached > 0)
            #expect(((second.object["pagedflex"] as? [String: Any])?["kv_pages_shared_peak"] as? Int ?? 0) > 0)
            let text1 = (first.object["choices"] as? [[String: Any]])?.first?["text"] as? String
            let text2 = (second.object["choices"] as? [[String: Any]])?.first?["text"] as? String
            #expect(text1 == text2, "greedy from the cache = greedy computed")
        }
    }

    @Test func streamedCompletionAndChatEqualTheUnstreamedText() async throws {
        try await withServer { client, _ in
            for (route, body) in [
                ("/v1/completions", ["prompt": "once upon a time", "max_tokens": 12, "temperature": 0] as [String: Any]),
                ("/v1/chat/completions", ["messages": [["role": "user", "content": "hello there"]], "max_tokens": 12, "temperature": 0]),
            ] {
                let whole = try await client.post(route, body)
                #expect(whole.status == .ok)
                let choice = try #require((whole.object["choices"] as? [[String: Any]])?.first)
                let expected = route.contains("chat") ? (choice["message"] as? [String: Any])?["content"] as? String : choice["text"] as? String
                var streamBody = body
                streamBody["stream"] = true
                let streamed = try await client.post(route, streamBody)
                #expect(streamed.status == .ok)
                #expect(streamed.headers[.contentType] == "text/event-stream")
                let events = try streamed.events()
                var text = ""
                var finish: String?
                for e in events {
                    let c = try #require((e["choices"] as? [[String: Any]])?.first)
                    if route.contains("chat") {
                        #expect(e["object"] as? String == "chat.completion.chunk")
                        text += ((c["delta"] as? [String: Any])?["content"] as? String) ?? ""
                    } else {
                        text += c["text"] as? String ?? ""
                    }
                    if let f = c["finish_reason"] as? String { finish = f }
                }
                #expect(text == expected, "\(route)")
                #expect(finish == choice["finish_reason"] as? String)
                #expect(events.last?["pagedflex"] != nil, "the final chunk carries the pagedflex object")
            }
        }
    }

    @Test func includeUsageSendsALastChunkWithUsage() async throws {
        try await withServer { client, _ in
            let r = try await client.post("/v1/chat/completions", [
                "messages": [["role": "user", "content": "hi"]], "max_tokens": 4, "stream": true, "stream_options": ["include_usage": true],
            ])
            let events = try r.events()
            let last = try #require(events.last)
            #expect((last["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(last["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int ?? 0 >= 1)
            #expect(last["pagedflex"] != nil)
            for e in events.dropLast() { #expect(e["usage"] is NSNull) }
        }
    }

    @Test func nSamplesAndLogprobs() async throws {
        try await withServer { client, _ in
            let r = try await client.post("/v1/completions", [
                "prompt": "the cat", "max_tokens": 6, "n": 2, "temperature": 0.9, "seed": 7, "logprobs": 3,
            ])
            #expect(r.status == .ok)
            let choices = try #require(r.object["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            for c in choices {
                let lp = try #require(c["logprobs"] as? [String: Any])
                let tokens = try #require(lp["tokens"] as? [String])
                let values = try #require(lp["token_logprobs"] as? [Double])
                let top = try #require(lp["top_logprobs"] as? [[String: Double]])
                #expect(tokens.count == values.count && top.count == values.count && !values.isEmpty)
                #expect(values.allSatisfy { $0 <= 0 })
                #expect(top.allSatisfy { $0.count <= 3 && !$0.isEmpty })
            }
            let chat = try await client.post("/v1/chat/completions", [
                "messages": [["role": "user", "content": "hi"]], "max_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 2,
            ])
            let content = try #require(((chat.object["choices"] as? [[String: Any]])?.first?["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
            #expect(!content.isEmpty)
            for entry in content {
                let top = try #require(entry["top_logprobs"] as? [[String: Any]])
                #expect(top.count == 2)
                // Greedy: the chosen token is the most likely one.
                #expect(top.first?["logprob"] as? Double == entry["logprob"] as? Double)
            }
        }
    }

    @Test func tokenizeAndDetokenizeRoundTrip() async throws {
        try await withServer { client, _ in
            let t = try await client.post("/tokenize", ["prompt": "the heron"])
            let tokens = try #require(t.object["tokens"] as? [Int])
            #expect(t.object["count"] as? Int == tokens.count)
            let d = try await client.post("/detokenize", ["tokens": tokens])
            #expect(d.object["prompt"] as? String == "the heron")
            let chat = try await client.post("/tokenize", ["messages": [["role": "user", "content": "hi"]]])
            #expect((chat.object["tokens"] as? [Int])?.contains(1) == true, "the chat template's <|im_start|>")
            // Token ids as the prompt.
            let byIDs = try await client.post("/v1/completions", ["prompt": tokens, "max_tokens": 2, "echo": true, "temperature": 0])
            #expect(((byIDs.object["choices"] as? [[String: Any]])?.first?["text"] as? String)?.hasPrefix("the heron") == true)
        }
    }

    /// Every bad input: OpenAI's error shape, the right status, a message naming the problem.
    @Test func everyErrorCase() async throws {
        try await withServer(engine: { $0.kvMemory = .tokens(128) }, server: { $0.maxBodyBytes = 2048 }) { client, _ in
            let cases: [(String, Any, HTTPResponse.Status, String)] = [
                ("/v1/completions", "{not json", .badRequest, "not valid JSON"),
                ("/v1/completions", "[1, 2]", .badRequest, "must be a JSON object"),
                ("/v1/completions", "", .badRequest, "empty"),
                ("/v1/completions", ["max_tokens": 3], .badRequest, "'prompt' is required"),
                ("/v1/completions", ["prompt": 5], .badRequest, "'prompt' must be a string"),
                ("/v1/completions", ["prompt": "hi", "max_tokens": "3"], .badRequest, "'max_tokens' must be an integer, got a string"),
                ("/v1/completions", ["prompt": "hi", "temperature": "hot"], .badRequest, "'temperature' must be a number"),
                ("/v1/completions", ["prompt": "hi", "stream": 1], .badRequest, "'stream' must be a boolean"),
                ("/v1/completions", ["prompt": "hi", "model": "gpt-4"], .notFound, "'gpt-4' does not exist"),
                ("/v1/completions", ["prompt": ""], .badRequest, "the prompt is empty"),
                ("/v1/completions", ["prompt": String(repeating: "x ", count: 300)], .badRequest, "256 tokens"),
                ("/v1/completions", ["prompt": "hi", "max_tokens": 0], .badRequest, "'max_tokens' must be at least 1"),
                ("/v1/completions", ["prompt": "hi", "max_tokens": 1000], .badRequest, "exceed the model's context of 256"),
                ("/v1/completions", ["prompt": "hi", "max_tokens": Int.max], .badRequest, "exceed the model's context of 256"),
                ("/v1/chat/completions", ["messages": [["role": "user", "content": "hi"]], "max_tokens": Int.max], .badRequest, "exceed the model's context"),
                ("/v1/completions", ["prompt": "hi", "temperature": 3], .badRequest, "'temperature' must be from 0 to 2"),
                ("/v1/completions", ["prompt": "hi", "top_p": 0], .badRequest, "'top_p'"),
                ("/v1/completions", ["prompt": "hi", "min_p": 1.5], .badRequest, "'min_p'"),
                ("/v1/completions", ["prompt": "hi", "top_k": -5], .badRequest, "'top_k'"),
                ("/v1/completions", ["prompt": "hi", "n": 0], .badRequest, "'n' must be from 1"),
                ("/v1/completions", ["prompt": "hi", "stream_options": ["include_usage": true]], .badRequest, "only allowed when 'stream' is true"),
                ("/v1/completions", ["prompt": [1, 99999]], .badRequest, "token id 99999 is outside the vocabulary"),
                ("/v1/completions", ["prompt": [1, -1]], .badRequest, "token id -1 is outside the vocabulary"),
                ("/v1/completions", ["prompt": "hi", "presence_penalty": 0.5], .badRequest, "'presence_penalty' is not supported"),
                ("/v1/completions", ["prompt": "hi", "frequency_penalty": 1], .badRequest, "'frequency_penalty' is not supported"),
                ("/v1/completions", ["prompt": "hi", "logprobs": 50], .badRequest, "'logprobs' must be from 0 to 20"),
                ("/v1/completions", ["prompt": "hi", "stop": 3], .badRequest, "'stop' must be a string or an array of strings"),
                ("/v1/completions", ["prompt": "hi", "max_tokens": 250], .badRequest, "KV budget"),
                ("/v1/completions", ["prompt": String(repeating: "word ", count: 1000)], .contentTooLarge, "larger than the limit of 2048 bytes"),
                ("/v1/chat/completions", ["messages": "hi"], .badRequest, "'messages' must be an array"),
                ("/v1/chat/completions", ["messages": []], .badRequest, "'messages' is empty"),
                ("/v1/chat/completions", ["messages": [["content": "hi"]]], .badRequest, "'messages[0].role' is required"),
                ("/v1/chat/completions", ["messages": [["role": "wizard", "content": "hi"]]], .badRequest, "'messages[0].role' must be"),
                ("/v1/chat/completions", ["messages": [["role": "user", "content": 3]]], .badRequest, "'messages[0].content' must be"),
                ("/v1/chat/completions", ["messages": [["role": "user", "content": "hi"]], "top_logprobs": 2], .badRequest, "needs 'logprobs': true"),
                ("/v1/chat/completions", ["messages": [["role": "user", "content": "hi"]], "max_completion_tokens": -1], .badRequest, "'max_completion_tokens' must be at least 1"),
                ("/detokenize", ["tokens": ["a"]], .badRequest, "integer token ids"),
                ("/tokenize", ["nothing": 1], .badRequest, "send 'prompt'"),
            ]
            for (route, body, status, fragment) in cases {
                let r = try await client.post(route, body)
                #expect(r.status == status, "\(route) \(body): \(r.text)")
                let e = try #require(r.error, "\(route) \(body): no error object in \(r.text)")
                #expect((e["message"] as? String)?.contains(fragment) == true, "\(route) \(body): \(e["message"] ?? "")")
                #expect(e["type"] is String && e.keys.contains("param") && e.keys.contains("code"), "\(e)")
            }
            // Unknown fields are ignored whatever their type.
            let extra = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 2, "user": ["any": [1, 2]], "custom": 3])
            #expect(extra.status == .ok)
            // Nothing leaked: no page held once the requests are answered.
            #expect(try await client.get("/v1/engine").object["usedPageCount"] as? Int == 0)
        }
    }

    @Test func theAPIKeyGuardsEveryRouteButHealth() async throws {
        try await withServer(server: { $0.apiKey = "sesame" }) { client, _ in
            #expect(try await client.get("/health").status == .ok)
            for uri in ["/v1/models", "/metrics", "/v1/engine"] {
                let r = try await client.get(uri)
                #expect(r.status == .unauthorized, "\(uri)")
                #expect(r.error?["code"] as? String == "invalid_api_key")
                #expect(try await client.get(uri, headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
                #expect(try await client.get(uri, headers: [.authorization: "Bearer sesame"]).status == .ok)
            }
            #expect(try await client.post("/v1/completions", ["prompt": "hi"]).status == .unauthorized)
            let ok = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 1], headers: [.authorization: "Bearer sesame"])
            #expect(ok.status == .ok)
        }
    }

    @Test func loadSheddingAnswers429WithRetryAfter() async throws {
        try await withServer(server: { $0.maxWaiting = 0 }) { client, server in
            let r = try await client.post("/v1/completions", ["prompt": "hi", "max_tokens": 2])
            #expect(r.status == .tooManyRequests)
            #expect(r.headers[.retryAfter] == "1")
            #expect(r.error?["type"] as? String == "rate_limit_error")
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, "pagedflex:requests_rejected_total") == 1)
        }
    }

    /// After N known requests the counters and histogram counts are exact.
    @Test func metricsCountExactly() async throws {
        try await withServer { client, _ in
            var promptTokens = 0
            var generated = 0
            for i in 0..<3 {
                let r = try await client.post("/v1/completions", ["prompt": "request number \(i)", "max_tokens": 4, "temperature": 0])
                let usage = try #require(r.object["usage"] as? [String: Any])
                promptTokens += usage["prompt_tokens"] as? Int ?? 0
                generated += usage["completion_tokens"] as? Int ?? 0
            }
            _ = try await client.post("/v1/chat/completions", ["messages": [["role": "user", "content": "x"]], "max_tokens": 3, "stream": true])
            let text = try await client.get("/metrics").text
            let model = ["model_name": "tiny"]
            let stop = metricValue(text, "vllm:request_success_total", model.merging(["finished_reason": "stop"]) { a, _ in a }) ?? 0
            let length = metricValue(text, "vllm:request_success_total", model.merging(["finished_reason": "length"]) { a, _ in a }) ?? 0
            #expect(stop + length == 4)
            #expect(metricValue(text, "vllm:request_success_total", ["finished_reason": "abort"]) == 0)
            #expect(metricValue(text, "vllm:e2e_request_latency_seconds_count") == 4)
            #expect(metricValue(text, "vllm:time_to_first_token_seconds_count") == 4)
            #expect(metricValue(text, "vllm:request_queue_time_seconds_count") == 4)
            #expect(try #require(metricValue(text, "vllm:prompt_tokens_total")) >= Double(promptTokens))
            #expect(try #require(metricValue(text, "vllm:generation_tokens_total")) >= Double(generated))
            #expect(metricValue(text, "vllm:num_requests_running") == 0)
            #expect(metricValue(text, "vllm:num_requests_waiting") == 0)
            #expect(metricValue(text, "pagedflex:kv_pages_used") == 0)
            #expect(metricValue(text, "pagedflex:kv_pages_total") == 256)
        }
    }

    /// A seeded request gives the same text alone, among 16 concurrent ones, and when its
    /// prompt's pages come from the prefix cache.
    @Test func sameSeedSameTextAloneAmongSixteenAndFromTheCache() async throws {
        try await withServer { client, _ in
            let prompt = String(repeating: "a seeded story about the river ", count: 4)
            func text(_ r: TestResponse) -> String? { (r.object["choices"] as? [[String: Any]])?.first?["text"] as? String }
            @Sendable func seeded() -> [String: Any] { ["prompt": prompt, "max_tokens": 16, "temperature": 0.8, "top_p": 0.95, "seed": 1234] }
            let body = seeded()
            let alone = try #require(text(try await client.post("/v1/completions", body)))
            let cached = try await client.post("/v1/completions", body)
            #expect(((cached.object["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int ?? 0 > 0)
            #expect(text(cached) == alone)
            let together = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<16 {
                    group.addTask {
                        let b: [String: Any] = i == 5 ? seeded() : ["prompt": "other prompt \(i) " + String(repeating: "x", count: i * 7), "max_tokens": 8 + i, "temperature": 1, "seed": i]
                        return (i, text(try await client.post("/v1/completions", b)))
                    }
                }
                var out: [Int: String?] = [:]
                for try await (i, t) in group { out[i] = t }
                return out
            }
            #expect(together[5] == alone)
        }
    }

    /// A streaming client that goes away mid-stream, and one that goes away after the first ping
    /// (before any token): no page stays held, and each request is counted once (as aborted when
    /// the server noticed before it ended: the tiny model may finish first; the end-to-end tests
    /// check the abort on the real model). A live server on a loopback port, so the connection
    /// really closes.
    @Test func clientsThatDisconnectFreeTheirPages() async throws {
        try await withLiveServer { port, server in
            let engine = try #require(server.engine)
            let client = PlainHTTPClient(host: "127.0.0.1", port: port, readTimeout: .seconds(30))
            for afterChunks in [2, 0] {
                let reading = Task {
                    let body = #"{"prompt": "a long story", "max_tokens": 200, "stream": true}"#
                    try await client.exchange(.POST, "/v1/completions", headers: [("Content-Type", "application/json")], body: Array(body.utf8)) { _, reader in
                        var chunks = 0
                        while try await reader.next() != nil {
                            chunks += 1
                            if chunks > afterChunks { break }
                        }
                    }
                }
                try await reading.value  // leaving the exchange unread closes the connection
                var used = -1
                for _ in 0..<300 {
                    let u = engine.usage()
                    used = u.usedPageCount + u.runningSequences + u.waitingSequences
                    if used == 0 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(used == 0, "the abandoned stream still holds pages: \(engine.usage())")
            }
            try await Task.sleep(for: .milliseconds(100))
            let text = server.metrics.registry.emitToString()
            let counted = ["abort", "stop", "length"].compactMap { metricValue(text, "vllm:request_success_total", ["finished_reason": $0]) }
            #expect(counted.reduce(0, +) == 2, "\(text)")
        }
    }

    @Test func submitAfterShutdownFinishesWithAnError() async throws {
        let engine = try Engine(bundle: try TinyBundle.load())
        engine.shutdown()
        await #expect(throws: EngineError.engineStopped) {
            for try await _ in engine.submit(GenerationRequest(promptTokens: [5, 6, 7], stop: StopConditions(maxTokens: 3))) {}
        }
    }
}

