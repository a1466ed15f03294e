import Foundation
import NIOCore
import SplitMix

/// A load of N concurrent streaming clients against an OpenAI-compatible server (this one, or
/// another such as llama.cpp's): prompts of mixed length from a fixed seed, each client sending
/// its requests one after another. Measures what a user of the server sees: time to the first
/// token, the gaps between tokens, aggregate output tokens per second, requests per second.
public struct ServeBenchmark: Sendable {
    public struct Options: Sendable, Codable {
        public var url: String
        public var model: String?
        public var apiKey: String?
        public var clients = 16
        public var requestsPerClient = 2
        public var promptWords = 16...256
        public var maxTokens = 64
        /// Integer fields merged into every request body (e.g. llama-cpp-python's `min_tokens`, so
        /// that a server stopping at the end-of-text token still generates `maxTokens`).
        public var extraFields: [String: Int] = [:]
        public var seed: UInt64 = 2025
        public var timeoutSeconds: Double = 600
        public init(url: String) { self.url = url }
    }

    /// What one request saw.
    public struct Sample: Sendable, Codable {
        public var promptWords: Int
        public var outputTokens: Int
        public var timeToFirstToken: Double?
        public var gaps: [Double]
        public var seconds: Double
        public var error: String?
    }

    public struct Report: Sendable, Codable {
        public var url: String
        public var model: String
        public var clients: Int
        public var requests: Int
        public var failed: Int
        public var outputTokens: Int
        public var seconds: Double
        public var outputTokensPerSecond: Double
        public var requestsPerSecond: Double
        public var ttftP50: Double
        public var ttftP99: Double
        public var itlP50: Double
        public var itlP99: Double
        public var itlMax: Double
        /// The distinct errors of the failed requests (at most 8).
        public var errors: [String]
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    /// Runs the load and summarises it.
    public func run() async throws -> Report {
        // Each client has its own connection for each request (as a user's client would), so
        // nothing queues on the client side.
        let client = try PlainHTTPClient(url: options.url, readTimeout: .milliseconds(Int64(options.timeoutSeconds * 1000)))
        let model = try await resolveModel(client)
        let prompts = Self.prompts(count: options.clients * options.requestsPerClient, words: options.promptWords, seed: options.seed)
        let start = ContinuousClock.now
        let samples = await withTaskGroup(of: [Sample].self) { group in
            for c in 0..<options.clients {
                group.addTask {
                    var out: [Sample] = []
                    for r in 0..<options.requestsPerClient {
                        out.append(await one(client, model: model, prompt: prompts[c * options.requestsPerClient + r]))
                    }
                    return out
                }
            }
            var all: [Sample] = []
            for await s in group { all += s }
            return all
        }
        let seconds = Self.seconds(ContinuousClock.now - start)
        return Self.summarise(samples, url: options.url, model: model, clients: options.clients, seconds: seconds)
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

    static func summarise(_ samples: [Sample], url: String, model: String, clients: Int, seconds: Double) -> Report {
        let ok = samples.filter { $0.error == nil }
        let tokens = ok.reduce(0) { $0 + $1.outputTokens }
        let ttfts = ok.compactMap(\.timeToFirstToken).sorted()
        let gaps = ok.flatMap(\.gaps).sorted()
        return Report(
            url: url, model: model, clients: clients, requests: samples.count, failed: samples.count - ok.count,
            outputTokens: tokens, seconds: seconds, outputTokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0,
            requestsPerSecond: seconds > 0 ? Double(ok.count) / seconds : 0,
            ttftP50: percentile(ttfts, 0.5), ttftP99: percentile(ttfts, 0.99),
            itlP50: percentile(gaps, 0.5), itlP99: percentile(gaps, 0.99), itlMax: gaps.last ?? 0,
            errors: Array(Set(samples.compactMap(\.error)).sorted().prefix(8)))
    }

    /// The nearest-rank percentile of sorted `values` (0 when empty).
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let rank = Int((p * Double(values.count)).rounded(.up)) - 1
        return values[min(max(rank, 0), values.count - 1)]
    }

    /// Prompts of `words` words each (uniform in the range), from a fixed vocabulary and seed:
    /// the same load for every server.
    static func prompts(count: Int, words: ClosedRange<Int>, seed: UInt64) -> [(words: Int, text: String)] {
        let vocabulary = [
            "the", "river", "history", "of", "a", "small", "town", "where", "people", "built", "bridges", "and", "stories",
            "about", "winter", "light", "machines", "learn", "to", "read", "old", "maps", "while", "children", "sing", "near",
            "market", "square", "every", "morning", "before", "rain", "falls", "on", "green", "hills", "under", "quiet", "sky",
        ]
        var generator = SplitMix64(seed: seed)
        func next() -> UInt64 { generator.next() }
        return (0..<count).map { _ in
            let n = words.lowerBound + Int(next() % UInt64(words.count))
            let text = (0..<n).map { _ in vocabulary[Int(next() % UInt64(vocabulary.count))] }.joined(separator: " ")
            return (n, "Write a long story. " + text)
        }
    }

    private func headers() -> [(String, String)] {
        var h = [("Content-Type", "application/json")]
        if let apiKey = options.apiKey { h.append(("Authorization", "Bearer \(apiKey)")) }
        return h
    }

    /// The model to name: the option, or the first that `/v1/models` lists.
    private func resolveModel(_ client: PlainHTTPClient) async throws -> String {
        if let model = options.model { return model }
        let response = try await client.send(.GET, "/v1/models", headers: headers(), limit: 1 << 20)
        guard response.status == .ok else { throw BenchError("\(options.url)/v1/models: HTTP \(response.status.code): \(response.text.prefix(200))") }
        struct Models: Decodable { struct Model: Decodable { let id: String }; let data: [Model] }
        guard let first = try JSONDecoder().decode(Models.self, from: Data(response.body)).data.first else {
            throw BenchError("\(options.url)/v1/models lists no model")
        }
        return first.id
    }

    private func one(_ client: PlainHTTPClient, model: String, prompt: (words: Int, text: String)) async -> Sample {
        var sample = Sample(promptWords: prompt.words, outputTokens: 0, timeToFirstToken: nil, gaps: [], seconds: 0, error: nil)
        let start = ContinuousClock.now
        do {
            var body: [String: Any] = [
                "model": model, "prompt": prompt.text, "max_tokens": options.maxTokens, "temperature": 0, "stream": true,
            ]
            for (key, value) in options.extraFields { body[key] = value }
            let initial = sample
            sample = try await client.exchange(.POST, "/v1/completions", headers: headers(), body: jsonBytes(body)) { head, reader in
                var sample = initial
                guard head.status == .ok else {
                    let text = String(decoding: try await reader.collect(upTo: 1 << 16), as: UTF8.self)
                    throw BenchError("HTTP \(head.status.code): \(text.prefix(500))")
                }
                var events = ServerSentEvents()
                var last: ContinuousClock.Instant?
                var done = false
                while let buffer = try await reader.next() {
                    for payload in events.feed(buffer.readableBytesView) {
                        if payload == "[DONE]" { done = true; continue }
                        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else {
                            throw BenchError("a chunk that is not JSON: \(payload.prefix(200))")
                        }
                        if let error = object["error"] { throw BenchError("the stream failed: \(error)") }
                        let choices = object["choices"] as? [[String: Any]] ?? []
                        guard let text = choices.first?["text"] as? String, !text.isEmpty else { continue }
                        let now = ContinuousClock.now
                        if let last { sample.gaps.append(Self.seconds(now - last)) } else { sample.timeToFirstToken = Self.seconds(now - start) }
                        last = now
                        sample.outputTokens += 1
                    }
                }
                if !done { throw BenchError("the stream ended without data: [DONE]") }
                return sample
            }
        } catch {
            sample.error = "\(error)"
        }
        sample.seconds = Self.seconds(ContinuousClock.now - start)
        return sample
    }
}

/// Cuts a server-sent-event stream into the `data:` payloads of its events, across chunk
/// boundaries (an event ends with a blank line; `:` comment lines are dropped).
public struct ServerSentEvents: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The payloads of the events that `bytes` completes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        pending += bytes
        var payloads: [String] = []
        var start = 0
        var i = 0
        while i + 1 < pending.count {
            if pending[i] == UInt8(ascii: "\n") && pending[i + 1] == UInt8(ascii: "\n") {
                let event = String(decoding: pending[start..<i], as: UTF8.self)
                for line in event.split(separator: "\n") where line.hasPrefix("data: ") { payloads.append(String(line.dropFirst(6))) }
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        pending.removeFirst(start)
        return payloads
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
