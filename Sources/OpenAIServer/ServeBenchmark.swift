import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
        // One connection per client (the pool's default of 8 per host would queue the rest, and
        // a queued request times out as if the server could not be reached).
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.clients)
        configuration.timeout = .init(connect: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
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
            try await client.shutdown()
            return Self.summarise(samples, url: options.url, model: model, clients: options.clients, seconds: seconds)
        } catch {
            try? await client.shutdown()
            throw error
        }
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
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<count).map { _ in
            let n = words.lowerBound + Int(next() % UInt64(words.count))
            let text = (0..<n).map { _ in vocabulary[Int(next() % UInt64(vocabulary.count))] }.joined(separator: " ")
            return (n, "Write a long story. " + text)
        }
    }

    private func headers() -> HTTPHeaders {
        var h = HTTPHeaders([("Content-Type", "application/json")])
        if let apiKey = options.apiKey { h.add(name: "Authorization", value: "Bearer \(apiKey)") }
        return h
    }

    /// The model to name: the option, or the first that `/v1/models` lists.
    private func resolveModel(_ client: HTTPClient) async throws -> String {
        if let model = options.model { return model }
        var request = HTTPClientRequest(url: options.url + "/v1/models")
        request.headers = headers()
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Models: Decodable { struct Model: Decodable { let id: String }; let data: [Model] }
        guard let first = try JSONDecoder().decode(Models.self, from: Data(buffer: body)).data.first else {
            throw BenchError("\(options.url)/v1/models lists no model")
        }
        return first.id
    }

    private func one(_ client: HTTPClient, model: String, prompt: (words: Int, text: String)) async -> Sample {
        var sample = Sample(promptWords: prompt.words, outputTokens: 0, timeToFirstToken: nil, gaps: [], seconds: 0, error: nil)
        let start = ContinuousClock.now
        do {
            var request = HTTPClientRequest(url: options.url + "/v1/completions")
            request.method = .POST
            request.headers = headers()
            let body: [String: Any] = [
                "model": model, "prompt": prompt.text, "max_tokens": options.maxTokens, "temperature": 0, "stream": true,
            ]
            request.body = .bytes(ByteBuffer(bytes: jsonBytes(body)))
            let response = try await client.execute(request, timeout: .milliseconds(Int64(options.timeoutSeconds * 1000)))
            guard response.status == .ok else {
                let text = try await response.body.collect(upTo: 1 << 16)
                throw BenchError("HTTP \(response.status.code): \(String(buffer: text))")
            }
            var pending = ""
            var last: ContinuousClock.Instant?
            var done = false
            for try await buffer in response.body {
                pending += String(buffer: buffer)
                while let end = pending.range(of: "\n\n") {
                    let event = String(pending[..<end.lowerBound])
                    pending.removeSubrange(..<end.upperBound)
                    for line in event.split(separator: "\n") where line.hasPrefix("data: ") {
                        let payload = line.dropFirst(6)
                        if payload == "[DONE]" { done = true; continue }
                        guard let data = payload.data(using: .utf8),
                            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                        else { throw BenchError("a chunk that is not JSON: \(payload.prefix(200))") }
                        if let error = object["error"] { throw BenchError("the stream failed: \(error)") }
                        let choices = object["choices"] as? [[String: Any]] ?? []
                        guard let text = choices.first?["text"] as? String, !text.isEmpty else { continue }
                        let now = ContinuousClock.now
                        if let last { sample.gaps.append(Self.seconds(now - last)) } else { sample.timeToFirstToken = Self.seconds(now - start) }
                        last = now
                        sample.outputTokens += 1
                    }
                }
            }
            if !done { throw BenchError("the stream ended without data: [DONE]") }
        } catch {
            sample.error = "\(error)"
        }
        sample.seconds = Self.seconds(ContinuousClock.now - start)
        return sample
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
