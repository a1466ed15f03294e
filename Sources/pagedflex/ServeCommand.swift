import ArgumentParser
import Engine
import Foundation
import Logging
import Metrics
import OpenAIServer
import Prometheus

/// `pagedflex serve`: the OpenAI-compatible server on one engine.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over an OpenAI-compatible HTTP API (completions, chat, streaming, /metrics).",
        discussion: "Listens on --host:--port (127.0.0.1:8080). /health answers 503 until the model is loaded. SIGINT or SIGTERM stops accepting, lets in-flight requests finish within --shutdown-grace seconds, cancels the rest, and exits 0.")

    @OptionGroup var engine: EngineOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one; the chosen port is printed).")
    var port: Int = 8080

    @Option(help: "Require 'Authorization: Bearer KEY' on every route but /health.")
    var apiKey: String?

    @Option(help: "Requests allowed to wait for admission; past it, 429 with Retry-After.")
    var maxWaiting: Int = 64

    @Option(help: "The model name /v1/models lists (default: the model file's name without .gguf).")
    var modelName: String?

    @Option(help: "Request bodies larger than this many bytes get 413.")
    var maxBodyBytes: Int = 4 << 20

    @Option(help: "Seconds between SSE pings while a stream waits or prefills.")
    var pingInterval: Double = 1

    @Option(help: "Seconds in-flight requests get to finish at shutdown.")
    var shutdownGrace: Double = 10

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535, got \(port)") }
        guard maxWaiting >= 0 else { throw ValidationError("--max-waiting must be at least 0") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        guard pingInterval > 0, shutdownGrace >= 0 else { throw ValidationError("--ping-interval must be > 0 and --shutdown-grace ≥ 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a level") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var config = ServerConfiguration()
        config.host = host
        config.port = port
        config.apiKey = apiKey
        config.maxWaiting = maxWaiting
        config.modelName = modelName ?? URL(fileURLWithPath: engine.model).deletingPathExtension().lastPathComponent
        config.maxBodyBytes = maxBodyBytes
        config.pingInterval = pingInterval
        config.shutdownGracePeriod = shutdownGrace
        // One registry: the server's metrics and whatever reports through swift-metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "pagedflex.server")
        let server = OpenAIServer(configuration: config, metrics: ServerMetrics(modelName: config.modelName, registry: registry), logger: logger)
        let options = engine
        // Load while already listening, so /health can say 503 until the model is there.
        let loader = Task {
            do {
                let engine = try options.makeEngine()
                server.attach(engine)
                logger.info("model loaded", metadata: ["model": "\(options.model)", "kv": "\(options.kv)"])
            } catch {
                logger.critical("cannot load the model", metadata: ["error": "\(error)"])
                Foundation.exit(1)
            }
        }
        let listening = (host: config.host, port: config.port)
        try await server.run { channel in
            let port = channel.localAddress?.port ?? listening.port
            // The one line a script waits for (with --port 0, the port chosen).
            FileHandle.standardOutput.write(Data("pagedflex serve: listening on http://\(listening.host):\(port)\n".utf8))
        }
        _ = await loader.result
        server.engine?.shutdown()
        logger.info("stopped")
    }
}
