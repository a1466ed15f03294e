import Engine
import Foundation
import OpenAIAPI
import Sampling
import Tokenizers

/// What one request produced so far, sample by sample, and the JSON OpenAI's clients read.
struct CompletionResult {
    let job: GenerationJob
    let id: String
    let created: Int
    let modelName: String
    let tokenizer: any Tokenizer
    var texts: [String]
    var tokenCounts: [Int]
    var finishReasons: [String?]
    var logprobs: [[TokenLogprob]]
    var stats: [GenerationStats?]
    /// Offsets of each token's text in its sample's text (completions' `text_offset`).
    var textOffsets: [[Int]]

    init(job: GenerationJob, modelName: String, tokenizer: any Tokenizer) {
        self.job = job
        let n = job.request.sampleCount
        id = (job.kind == .chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        created = Int(Date().timeIntervalSince1970)
        self.modelName = modelName
        self.tokenizer = tokenizer
        texts = Array(repeating: job.echoText ?? "", count: n)
        tokenCounts = Array(repeating: 0, count: n)
        finishReasons = Array(repeating: nil, count: n)
        logprobs = Array(repeating: [], count: n)
        stats = Array(repeating: nil, count: n)
        textOffsets = Array(repeating: [], count: n)
    }

    var isFinished: Bool { finishReasons.allSatisfy { $0 != nil } }

    /// OpenAI's reason: `stop` for a stop token or string, `length` for the token or context limit.
    static func finishReason(_ reason: StopConditions.Reason) -> String {
        switch reason {
        case .stopToken, .stopString: "stop"
        case .length, .contextFull: "length"
        case .cancelled: "abort"
        }
    }

    mutating func add(_ event: GenerationEvent) {
        let i = event.sample
        if let logprob = event.logprob {
            logprobs[i].append(logprob)
            textOffsets[i].append(texts[i].utf8.count)
        }
        if event.token != nil { tokenCounts[i] += 1 }
        texts[i] += event.text
        if let reason = event.finishReason { finishReasons[i] = Self.finishReason(reason) }
        if let s = event.stats { stats[i] = s }
    }

    // MARK: JSON

    var usage: [String: Any] {
        let prompt = job.request.promptTokens.count
        let completion = tokenCounts.reduce(0, +)
        let cached = stats.compactMap { $0?.cachedPromptTokenCount }.first ?? 0
        return [
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": ["cached_tokens": cached],
        ]
    }

    /// The `pagedflex` object: what this request held in KV memory and how it was served.
    func pagedflex(tokensPerPage: Int) -> [String: Any] {
        let all = stats.compactMap { $0 }
        let accounting = all.map(\.accounting).max { $0.peakPageCount < $1.peakPageCount } ?? RequestAccounting()
        let ttft = all.map(\.timeToFirstToken).min() ?? 0
        let total = all.map(\.totalTime).max() ?? 0
        let generated = all.map(\.generatedTokenCount).reduce(0, +)
        let computedPrompt = job.request.promptTokens.count - (all.first?.cachedPromptTokenCount ?? 0)
        let decodeTime = total - ttft
        return [
            "kv_pages_peak": accounting.peakPageCount,
            "kv_pages_shared_peak": accounting.peakSharedPageCount,
            "kv_bytes_peak": accounting.peakKVBytes,
            "kv_partial_page_waste_bytes": accounting.partialPageWasteBytes,
            "tokens_per_page": tokensPerPage,
            "preemptions": accounting.preemptionCount,
            "queue_time_s": accounting.queueTime,
            "ttft_s": ttft,
            "e2e_s": total,
            "prefill_tokens_per_s": ttft > 0 ? Double(computedPrompt) / ttft : 0,
            "decode_tokens_per_s": decodeTime > 0 && generated > all.count ? Double(generated - all.count) / decodeTime : 0,
        ]
    }

    private func tokenText(_ token: Int32) -> String { tokenizer.decode([token]) }

    private func completionLogprobs(_ i: Int) -> [String: Any] {
        [
            "tokens": logprobs[i].map { tokenText($0.token) },
            "token_logprobs": logprobs[i].map { Double($0.logprob) },
            "top_logprobs": logprobs[i].map { lp in
                Dictionary(lp.top.map { (tokenText($0.token), Double($0.logprob)) }, uniquingKeysWith: { a, _ in a })
            },
            "text_offset": textOffsets[i],
        ]
    }

    private func chatLogprobs(_ items: ArraySlice<TokenLogprob>) -> [String: Any] {
        func entry(_ token: Int32, _ logprob: Float) -> [String: Any] {
            let text = tokenText(token)
            return ["token": text, "logprob": Double(logprob), "bytes": Array(tokenizer.bytes(of: token)).map(Int.init)]
        }
        return [
            "content": items.map { lp -> [String: Any] in
                var e = entry(lp.token, lp.logprob)
                e["top_logprobs"] = lp.top.map { entry($0.token, $0.logprob) }
                return e
            }
        ]
    }

    /// The whole response of a request that is not streamed.
    func response(tokensPerPage: Int) -> [String: Any] {
        let choices: [[String: Any]] = texts.indices.map { i in
            var choice: [String: Any] = ["index": i, "finish_reason": finishReasons[i] ?? NSNull()]
            switch job.kind {
            case .completion:
                choice["text"] = texts[i]
                choice["logprobs"] = job.wantsLogprobs ? completionLogprobs(i) : NSNull()
            case .chat:
                choice["message"] = ["role": "assistant", "content": texts[i]]
                choice["logprobs"] = job.wantsLogprobs ? chatLogprobs(logprobs[i][...]) : NSNull()
            }
            return choice
        }
        return [
            "id": id, "object": job.kind == .chat ? "chat.completion" : "text_completion", "created": created,
            "model": modelName, "choices": choices, "usage": usage, "pagedflex": pagedflex(tokensPerPage: tokensPerPage),
        ]
    }

    /// One streamed chunk with one choice (`delta` text for chat, `text` for completions).
    func chunk(sample i: Int, text: String, role: Bool = false, logprobsFrom start: Int? = nil, finishReason: String? = nil) -> [String: Any] {
        var choice: [String: Any] = ["index": i, "finish_reason": finishReason ?? NSNull()]
        let newLogprobs = start.map { logprobs[i][$0...] } ?? []
        switch job.kind {
        case .completion:
            choice["text"] = text
            if job.wantsLogprobs {
                let first = start ?? logprobs[i].count
                choice["logprobs"] = [
                    "tokens": newLogprobs.map { tokenText($0.token) },
                    "token_logprobs": newLogprobs.map { Double($0.logprob) },
                    "top_logprobs": newLogprobs.map { lp in
                        Dictionary(lp.top.map { (tokenText($0.token), Double($0.logprob)) }, uniquingKeysWith: { a, _ in a })
                    },
                    "text_offset": Array(textOffsets[i][first...]),
                ] as [String: Any]
            } else {
                choice["logprobs"] = NSNull()
            }
        case .chat:
            var delta: [String: Any] = [:]
            if role { delta["role"] = "assistant" }
            if role || !text.isEmpty { delta["content"] = text }
            choice["delta"] = delta
            choice["logprobs"] = job.wantsLogprobs && !newLogprobs.isEmpty ? chatLogprobs(newLogprobs) : NSNull()
        }
        var chunk = envelope
        chunk["choices"] = [choice]
        return chunk
    }

    /// A streamed chunk's common fields.
    var envelope: [String: Any] {
        var e: [String: Any] = [
            "id": id, "object": job.kind == .chat ? "chat.completion.chunk" : "text_completion", "created": created, "model": modelName,
        ]
        if job.includeUsage { e["usage"] = NSNull() }
        return e
    }

    /// The last chunk: usage (with `include_usage`) and the `pagedflex` object.
    func finalChunk(tokensPerPage: Int) -> [String: Any] {
        var chunk = envelope
        chunk["choices"] = [Any]()
        if job.includeUsage { chunk["usage"] = usage }
        chunk["pagedflex"] = pagedflex(tokensPerPage: tokensPerPage)
        return chunk
    }
}

/// JSON bytes of a `JSONSerialization` object (slashes unescaped).
func jsonBytes(_ object: Any) -> [UInt8] {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
    return Array(data)
}
