import ArgumentParser
import Engine
import Foundation
import Logging
import OpenAIServer

/// `pagedflex bench serve`: N concurrent streaming clients against this server (started here on
/// a free loopback port) or against any OpenAI-compatible server (`--url`).
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Concurrent streaming clients against an OpenAI-compatible server: output tok/s, TTFT and inter-token latency p50/p99, requests/s.",
        discussion: "Without --url it starts `pagedflex serve` in-process on 127.0.0.1 with the engine flags given. --prefill-sweep runs the same load once per scheduler setting (the whole token budget per step, a fixed prefill share, step-time targets) to show inter-token latency against TTFT and throughput.")

    @OptionGroup var engine: EngineOptions

    @Option(help: "The server to load (e.g. http://127.0.0.1:8000); default: start this one in-process.")
    var url: String?

    @Option(help: "The model name to send (default: the first /v1/models lists).")
    var modelName: String?

    @Option(help: "Bearer token for --url servers that need one.")
    var apiKey: String?

    @Option(help: "Concurrent streaming clients.")
    var clients: Int = 16

    @Option(help: "Requests each client sends, one after another.")
    var requestsPerClient: Int = 2

    @Option(help: "Prompt lengths in words, uniform in MIN,MAX.")
    var promptWords: String = "16,256"

    @Option(help: "Tokens to generate per request.")
    var maxTokens: Int = 64

    @Option(help: "Seed of the prompts.")
    var seed: UInt64 = 2025

    @Option(help: "An integer field added to every request, NAME=VALUE (repeatable): e.g. min_tokens=64 for llama-cpp-python's server, so both servers generate --max-tokens whatever the end-of-text token does.")
    var extraField: [String] = []

    @Flag(help: "Run the in-process server once per scheduler setting: whole budget, --max-prefill-tokens 64, step-time targets 100 and 250 ms.")
    var prefillSweep = false

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    struct Row: Codable {
        var setting: String
        var report: ServeBenchmark.Report
    }

    func validate() throws {
        guard clients >= 1, requestsPerClient >= 1, maxTokens >= 1 else { throw ValidationError("--clients, --requests-per-client and --max-tokens must be at least 1") }
        let b = promptWords.split(separator: ",").compactMap { Int($0) }
        guard b.count == 2, b[0] >= 1, b[0] <= b[1] else { throw ValidationError("--prompt-words MIN,MAX, got '\(promptWords)'") }
        if url != nil && prefillSweep { throw ValidationError("--prefill-sweep runs the in-process server; leave out --url") }
        for field in extraField where field.split(separator: "=").count != 2 || Int(field.split(separator: "=")[1]) == nil {
            throw ValidationError("--extra-field NAME=INTEGER, got '\(field)'")
        }
    }

    func run() async throws {
        let b = promptWords.split(separator: ",").compactMap { Int($0) }
        var template = ServeBenchmark.Options(url: "")
        template.model = modelName
        template.apiKey = apiKey
        template.clients = clients
        template.requestsPerClient = requestsPerClient
        template.promptWords = b[0]...b[1]
        template.maxTokens = maxTokens
        template.seed = seed
        for field in extraField {
            let parts = field.split(separator: "=")
            template.extraFields[String(parts[0])] = Int(parts[1])!
        }
        let base = template
        let options: @Sendable (String) -> ServeBenchmark.Options = { url in
            var o = base
            o.url = url
            return o
        }
        var rows: [Row] = []
        if let url {
            rows.append(Row(setting: url, report: try await ServeBenchmark(options: options(url)).run()))
        } else {
            var settings: [(String, EngineConfiguration)] = [("as given", engine.configuration)]
            if prefillSweep {
                var whole = engine.configuration
                whole.prefillTokensPerStep = nil
                whole.stepTimeTarget = nil
                var share = whole
                share.prefillTokensPerStep = 64
                var target100 = whole
                target100.stepTimeTarget = 0.1
                var target250 = whole
                target250.stepTimeTarget = 0.25
                settings = [
                    ("whole budget per step", whole), ("prefill share 64 tokens", share),
                    ("step target 100 ms", target100), ("step target 250 ms", target250),
                ]
            }
            let bundle: ModelBundle
            do { bundle = try ModelBundle(path: engine.model) } catch { throw CLIError(error.description) }
            for (name, configuration) in settings {
                printError("bench serve: \(name) …")
                let report = try await Self.withLocalServer(bundle: bundle, configuration: configuration) { url in
                    try await ServeBenchmark(options: options(url)).run()
                }
                rows.append(Row(setting: name, report: report))
            }
        }
        print(Self.table(rows))
        for row in rows where !row.report.errors.isEmpty {
            printError("\(row.setting): \(row.report.failed) requests failed: " + row.report.errors.joined(separator: "; "))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(rows).write(to: URL(fileURLWithPath: json))
            printError("wrote \(json)")
        }
    }

    /// Runs `body` against a server on a free loopback port over a fresh engine, then stops both.
    static func withLocalServer<T: Sendable>(
        bundle: ModelBundle, configuration: EngineConfiguration, _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        let engine: Engine
        do { engine = try Engine(bundle: bundle, configuration: configuration) } catch { throw CLIError(error.description) }
        defer { engine.shutdown() }
        var config = ServerConfiguration()
        config.port = 0
        config.maxWaiting = 1024
        config.modelName = "pagedflex"
        var logger = Logger(label: "pagedflex.bench")
        logger.logLevel = .critical
        let server = OpenAIServer(configuration: config, engine: engine, logger: logger)
        return try await server.serving { port in try await body("http://127.0.0.1:\(port)") }
    }

    static func table(_ rows: [Row]) -> String {
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        var lines = ["setting                      | clients | requests | failed | out tok/s | req/s | TTFT p50 s | TTFT p99 s | ITL p50 ms | ITL p99 ms | ITL max ms"]
        lines.append(String(repeating: "-", count: lines[0].count))
        for r in rows {
            let p = r.report
            lines.append([
                r.setting.padding(toLength: 28, withPad: " ", startingAt: 0), String(p.clients), String(p.requests), String(p.failed),
                f(p.outputTokensPerSecond), f(p.requestsPerSecond, 3), f(p.ttftP50, 2), f(p.ttftP99, 2),
                f(p.itlP50 * 1000), f(p.itlP99 * 1000), f(p.itlMax * 1000),
            ].joined(separator: " | "))
        }
        return lines.joined(separator: "\n")
    }
}
