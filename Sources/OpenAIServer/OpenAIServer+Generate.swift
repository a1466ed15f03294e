import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Locking
import Logging
import NIOCore
import OpenAIAPI

extension OpenAIServer {
    /// `POST /v1/completions` and `POST /v1/chat/completions`.
    func generate(_ request: Request, kind: GenerationJob.Kind) async throws(APIError) -> Response {
        let engine = try requireEngine()
        // The body is read through Hummingbird's inbound-close watch, which then goes on reading
        // the connection: a client that closes it while its answer is computed (a non-streamed
        // request, which writes nothing until the end) cancels the generation. Streams notice
        // a vanished client themselves, at their next write or ping.
        // Hummingbird closes the connection after such a request, so every answer says so.
        let watch = InboundCloseWatch()
        do {
            var response = try await request.body.consumeWithInboundCloseHandler { body in
                let bytes: ByteBuffer
                do { bytes = try await body.collect(upTo: configuration.maxBodyBytes) } catch {
                    throw APIError.bodyTooLarge(limit: configuration.maxBodyBytes)
                }
                return try await generate(JSONValue.parse(Array(bytes.readableBytesView)), kind: kind, engine: engine, watch: watch)
            } onInboundClosed: {
                watch.close()
            }
            response.headers[.connection] = "close"
            return response
        } catch {
            var apiError = (error as? APIError) ?? APIError(.cancelled)
            apiError.closesConnection = true
            throw apiError
        }
    }

    private func generate(_ body: JSONValue, kind: GenerationJob.Kind, engine: Engine, watch: InboundCloseWatch) async throws(APIError) -> Response {
        let parser = RequestParser(bundle: engine.bundle, modelName: configuration.modelName, tokenCapacity: engine.kvTokenCapacity)
        let job = kind == .chat ? try parser.chat(body) : try parser.completion(body)
        do { try engine.validate(job.request) } catch { throw APIError(error) }
        guard let events = engine.submit(job.request, maxQueued: configuration.maxWaiting) else {
            metrics.requestsRejected.increment()
            throw .overloaded(waiting: engine.queuedRequestCount)
        }
        let trace = RequestTrace(arrival: ContinuousClock.now)
        inFlight.add(1, ordering: .relaxed)
        let result = CompletionResult(job: job, modelName: configuration.modelName, tokenizer: engine.bundle.tokenizer)
        if job.stream {
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    defer { self.inFlight.subtract(1, ordering: .relaxed) }
                    try await self.stream(result, events: events, trace: trace, tokensPerPage: engine.pageLayout.tokensPerPage, writer: &writer)
                })
        }
        defer { inFlight.subtract(1, ordering: .relaxed) }
        // Collected in a task of its own, which the watch cancels if the client goes away
        // (cancelling its iteration of `events` cancels the request in the engine).
        let collecting = Task { () -> Collected in
            var collected = Collected(result: result, trace: trace)
            do {
                for try await event in events {
                    collected.trace.observe(event)
                    collected.result.add(event)
                }
            } catch {
                collected.error = error
            }
            return collected
        }
        watch.onClose { collecting.cancel() }
        let done = await withTaskCancellationHandler { await collecting.value } onCancel: { collecting.cancel() }
        if let error = done.error ?? (watch.isClosed ? EngineError.cancelled : nil) {
            finish(done.result, trace: done.trace, reason: "abort", error: error)
            throw APIError((error as? EngineError) ?? .cancelled)
        }
        finish(done.result, trace: done.trace, reason: nil, error: nil)
        return json(done.result.response(tokensPerPage: engine.pageLayout.tokensPerPage))
    }

    /// A non-streamed request's events, gathered.
    private struct Collected: Sendable {
        var result: CompletionResult
        var trace: RequestTrace
        var error: (any Error)?
    }

    /// Writes `events` as server-sent events: one `data:` chunk per token event, comment pings
    /// while nothing comes, the final chunk (usage, `pagedflex`), `data: [DONE]`. A write that
    /// fails (the client went away) ends the request: cancelling `events` frees its pages.
    private func stream(
        _ start: CompletionResult, events: AsyncThrowingStream<GenerationEvent, any Error>, trace start2: RequestTrace,
        tokensPerPage: Int, writer: inout any ResponseBodyWriter
    ) async throws {
        var result = start
        var trace = start2
        let (items, feed) = AsyncStream<StreamItem>.makeStream()
        let forward = Task {
            do {
                for try await event in events { feed.yield(.event(event)) }
                feed.yield(.end)
            } catch {
                feed.yield(.failed(error))
            }
            feed.finish()
        }
        let interval = configuration.pingInterval
        let pinger = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                feed.yield(.ping)
            }
        }
        defer {
            forward.cancel()
            pinger.cancel()
        }
        var roleSent = Array(repeating: false, count: result.job.request.sampleCount)
        var outcome: (reason: String?, error: (any Error)?) = ("abort", nil)
        do {
            // The headers and a first ping now: a client that went away during a long prefill
            // is noticed at the next ping.
            try await writer.write(ByteBuffer(string: ": ping\n\n"))
            loop: for await item in items {
                switch item {
                case .ping:
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                case .event(let event):
                    trace.observe(event)
                    let i = event.sample
                    let firstLogprob = result.logprobs[i].count
                    result.add(event)
                    var chunks: [[String: Any]] = []
                    if result.job.kind == .chat && !roleSent[i] {
                        roleSent[i] = true
                        chunks.append(result.chunk(sample: i, text: "", role: true))
                    }
                    let hasLogprob = event.logprob != nil && result.job.wantsLogprobs
                    if !event.text.isEmpty || hasLogprob || event.finishReason != nil {
                        var chunk = result.chunk(
                            sample: i, text: event.text, logprobsFrom: hasLogprob ? firstLogprob : nil,
                            finishReason: event.finishReason.map(CompletionResult.finishReason))
                        if result.isFinished && !result.job.includeUsage { chunk["pagedflex"] = result.pagedflex(tokensPerPage: tokensPerPage) }
                        chunks.append(chunk)
                    }
                    if !chunks.isEmpty { try await writer.write(ByteBuffer(bytes: chunks.flatMap(sse))) }
                case .end:
                    var tail: [UInt8] = []
                    if result.job.includeUsage { tail += sse(result.finalChunk(tokensPerPage: tokensPerPage)) }
                    tail += Array("data: [DONE]\n\n".utf8)
                    try await writer.write(ByteBuffer(bytes: tail))
                    outcome = (nil, nil)
                    break loop
                case .failed(let error):
                    let apiError = APIError((error as? EngineError) ?? .cancelled)
                    try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + apiError.body + Array("\n\n".utf8)))
                    outcome = ("abort", error)
                    break loop
                }
            }
        } catch {
            // The client is gone: `defer` cancels the engine stream.
            outcome = ("abort", error)
        }
        finish(result, trace: trace, reason: outcome.reason, error: outcome.error)
        if outcome.reason == nil { try await writer.finish(nil) }
    }

    /// Metrics and the request's log line.
    func finish(_ result: CompletionResult, trace: RequestTrace, reason forced: String?, error: (any Error)?) {
        let e2e = trace.seconds(since: trace.arrival)
        let reason = forced ?? (result.finishReasons.contains("length") ? "length" : "stop")
        let accounting = result.stats.compactMap { $0?.accounting }.first
        metrics.finished(
            reason: reason, promptTokens: result.job.request.promptTokens.count, generatedTokens: trace.tokenCount,
            e2e: e2e, queue: accounting?.queueTime)
        if let ttft = trace.timeToFirstToken { metrics.timeToFirstToken.record(ttft) }
        for gap in trace.gaps { metrics.interTokenLatency.record(gap) }
        var metadata: Logger.Metadata = [
            "request_id": "\(result.id)", "kind": "\(result.job.kind == .chat ? "chat" : "completion")",
            "stream": "\(result.job.stream)", "prompt_tokens": "\(result.job.request.promptTokens.count)",
            "cached_tokens": "\(result.stats.compactMap { $0?.cachedPromptTokenCount }.first ?? 0)",
            "completion_tokens": "\(trace.tokenCount)", "n": "\(result.job.request.sampleCount)",
            "ttft_s": "\(trace.timeToFirstToken.map { String(format: "%.4f", $0) } ?? "-")",
            "e2e_s": "\(String(format: "%.4f", e2e))", "finish_reason": "\(reason)",
        ]
        if let accounting {
            metadata["queue_s"] = "\(String(format: "%.4f", accounting.queueTime))"
            metadata["kv_pages_peak"] = "\(accounting.peakPageCount)"
            metadata["preemptions"] = "\(accounting.preemptionCount)"
        }
        if let error {
            metadata["error"] = "\(error)"
            logger.notice("request aborted", metadata: metadata)
        } else {
            logger.info("request done", metadata: metadata)
        }
    }
}

/// Whether the client closed its connection, and what to run when it does (at most once, at
/// once if it already has).
final class InboundCloseWatch: Sendable {
    private let state = Locked<(closed: Bool, action: (@Sendable () -> Void)?)>((false, nil))

    var isClosed: Bool { state.withLock { $0.closed } }

    func close() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            s.closed = true
            defer { s.action = nil }
            return s.action
        }
        action?()
    }

    func onClose(_ action: @escaping @Sendable () -> Void) {
        let closed = state.withLock { s -> Bool in
            if !s.closed { s.action = action }
            return s.closed
        }
        if closed { action() }
    }
}

enum StreamItem: Sendable {
    case event(GenerationEvent)
    case ping
    case end
    case failed(any Error)
}

/// One server-sent event: `data: JSON` and a blank line.
func sse(_ object: Any) -> [UInt8] {
    Array("data: ".utf8) + jsonBytes(object) + Array("\n\n".utf8)
}

/// Token arrival times of one request, as the server sees them (for TTFT and inter-token
/// latency per sample).
struct RequestTrace: Sendable {
    let arrival: ContinuousClock.Instant
    var timeToFirstToken: Double?
    var lastTokenTime: [Int: ContinuousClock.Instant] = [:]
    var gaps: [Double] = []
    var tokenCount = 0

    init(arrival: ContinuousClock.Instant) { self.arrival = arrival }

    func seconds(since instant: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - instant
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    mutating func observe(_ event: GenerationEvent) {
        guard event.token != nil else { return }
        let t = ContinuousClock.now
        tokenCount += 1
        if timeToFirstToken == nil { timeToFirstToken = seconds(since: arrival) }
        if let last = lastTokenTime[event.sample] {
            let d = t - last
            gaps.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        lastTokenTime[event.sample] = t
    }
}
