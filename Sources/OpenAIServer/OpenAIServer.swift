import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Locking
import Logging
import NIOCore
// The request decoding (RequestParser, JSONValue, APIError) lives in the networking-free
// OpenAIAPI target; the server's users see it through this module.
@_exported import OpenAIAPI
import ServiceLifecycle
import Synchronization
import Tokenizers

/// The OpenAI-compatible HTTP API on one ``Engine``: completions and chat completions (streamed
/// as server-sent events or not), models, health, tokenize/detokenize, the engine's usage, and
/// Prometheus metrics.
///
/// ```
/// request ─► auth ─► parse (RequestParser: every field checked, OpenAI error shape) ─► engine.submit
///            (429 past --max-waiting) ─► events ─► JSON, or SSE chunks with pings while waiting
/// client gone (a write fails) ─► the engine stream is cancelled ─► its pages are freed next step
/// ```
public final class OpenAIServer: Sendable {
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    let logger: Logger
    /// The engine once the model is loaded (`/health` answers 503 until then).
    private let engineSlot = Locked<Engine?>(nil)
    /// Generation requests in the handlers (submitted and not yet answered).
    let inFlight = Atomic<Int>(0)

    public init(configuration: ServerConfiguration, engine: Engine? = nil, metrics: ServerMetrics? = nil, logger: Logger? = nil) {
        self.configuration = configuration
        self.metrics = metrics ?? ServerMetrics(modelName: configuration.modelName)
        self.logger = logger ?? Logger(label: "pagedflex.server")
        engineSlot.withLock { $0 = engine }
    }

    /// Makes the loaded engine available: from now on `/health` is 200.
    public func attach(_ engine: Engine) { engineSlot.withLock { $0 = engine } }

    public var engine: Engine? { engineSlot.withLock { $0 } }

    func requireEngine() throws(APIError) -> Engine {
        guard let engine else { throw .loading }
        return engine
    }

    // MARK: The application

    /// The router with every route and the middleware (errors in OpenAI's shape, the API key).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(ErrorMiddleware(logger: logger))
        router.middlewares.add(APIKeyMiddleware(apiKey: configuration.apiKey))
        router.get("health") { _, _ in
            guard self.engine != nil else { throw APIError.loading }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
        }
        router.get("v1/models") { _, _ in try self.models() }
        router.get("v1/models/:id") { _, context in try self.model(context.parameters.get("id") ?? "") }
        router.post("v1/completions") { request, _ in try await self.generate(request, kind: .completion) }
        router.post("v1/chat/completions") { request, _ in try await self.generate(request, kind: .chat) }
        router.post("tokenize") { request, _ in try await self.tokenize(request) }
        router.post("detokenize") { request, _ in try await self.detokenize(request) }
        router.get("v1/engine") { _, _ in try self.engineUsage() }
        router.get("metrics") { _, _ in self.metricsResponse() }
        return router
    }

    /// The Hummingbird application listening at the configured host and port.
    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "pagedflex"),
            onServerRunning: onServerRunning, logger: logger)
    }

    /// Serves until SIGINT or SIGTERM: then stops accepting, lets in-flight requests finish for
    /// the grace period, cancels what is left, and returns (the caller shuts the engine down).
    public func run(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws {
        let app = makeApplication(onServerRunning: onServerRunning)
        var config = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        config.maximumGracefulShutdownDuration = .milliseconds(Int(configuration.shutdownGracePeriod * 1000))
        // ServiceLifecycle traps when cancelling takes longer than this: on a loaded 2-core
        // machine (CI's parallel tests, each with a live server) 5 s was not enough. A minute
        // still ends a wedged shutdown, but never a busy one.
        config.maximumCancellationDuration = .seconds(60)
        try await ServiceGroup(configuration: config).run()
    }

    /// Runs the server while `body` runs, with the port it listens on (a free one when the
    /// configured port is 0), then stops it: for benchmarks and tests on loopback.
    public func serving<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, feed) = AsyncStream<Int>.makeStream()
        let running = Task {
            try await run { channel in
                feed.yield(channel.localAddress?.port ?? 0)
                feed.finish()
            }
        }
        defer { running.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            running.cancel()
            _ = await running.result
            throw APIError(status: .serviceUnavailable, message: "the server did not start on \(configuration.host):\(configuration.port)", type: "server_error")
        }
        let result = try await body(port)
        running.cancel()
        _ = await running.result
        return result
    }

    // MARK: Routes

    func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jsonBytes(object))))
    }

    private func modelObject() -> [String: Any] {
        var object: [String: Any] = ["id": configuration.modelName, "object": "model", "created": 0, "owned_by": "pagedflex"]
        if let engine { object["max_model_len"] = engine.bundle.model.configuration.contextLength }
        return object
    }

    func models() throws(APIError) -> Response {
        _ = try requireEngine()
        return json(["object": "list", "data": [modelObject()]])
    }

    func model(_ id: String) throws(APIError) -> Response {
        _ = try requireEngine()
        guard id == configuration.modelName else {
            throw .notFound("the model '\(id)' does not exist; this server serves '\(configuration.modelName)'", param: "model", code: "model_not_found")
        }
        return json(modelObject())
    }

    func body(of request: Request) async throws(APIError) -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch {
            throw .bodyTooLarge(limit: configuration.maxBodyBytes)
        }
        return try JSONValue.parse(Array(buffer.readableBytesView))
    }

    func tokenize(_ request: Request) async throws(APIError) -> Response {
        let engine = try requireEngine()
        let parser = RequestParser(bundle: engine.bundle, modelName: configuration.modelName, tokenCapacity: engine.kvTokenCapacity)
        let tokens = try parser.tokenize(try await body(of: request))
        return json(["tokens": tokens.map(Int.init), "count": tokens.count, "max_model_len": parser.contextLength])
    }

    func detokenize(_ request: Request) async throws(APIError) -> Response {
        let engine = try requireEngine()
        let parser = RequestParser(bundle: engine.bundle, modelName: configuration.modelName, tokenCapacity: engine.kvTokenCapacity)
        return json(["prompt": engine.bundle.tokenizer.decode(try parser.detokenize(try await body(of: request)))])
    }

    func engineUsage() throws(APIError) -> Response {
        let engine = try requireEngine()
        let data = (try? JSONEncoder().encode(engine.usage())) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func metricsResponse() -> Response {
        if let engine {
            let waiting = engine.queuedRequestCount
            metrics.update(from: engine.usage(), waitingRequests: waiting, runningRequests: max(0, inFlight.load(ordering: .relaxed) - waiting))
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
    }
}

/// Answers every failure with OpenAI's error shape: ``APIError``s as they are, Hummingbird's
/// own (an unknown route, a wrong method) with their status.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            if error.status.code >= 500 || error.status == .tooManyRequests {
                logger.notice("request refused", metadata: ["path": "\(request.uri.path)", "status": "\(error.status.code)", "reason": "\(error.message)"])
            } else {
                logger.info("bad request", metadata: ["path": "\(request.uri.path)", "status": "\(error.status.code)", "reason": "\(error.message)"])
            }
            return error.response
        } catch let error as HTTPError {
            let message = error.status == .notFound
                ? "no route \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            return APIError(status: error.status, message: message, type: "invalid_request_error", code: error.status == .notFound ? "not_found" : nil).response
        } catch {
            logger.error("internal error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(status: .internalServerError, message: "internal error: \(error)", type: "server_error").response
        }
    }
}

/// `Authorization: Bearer KEY` on every route but `/health` when the server has a key.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let apiKey: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let apiKey, request.uri.path != "/health" else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        let expected = "Bearer " + apiKey
        // Compare every byte, so the time taken does not tell how much of the key matched.
        var difference = given.utf8.count ^ expected.utf8.count
        for (a, b) in zip(given.utf8, expected.utf8) { difference |= Int(a ^ b) }
        guard difference == 0 else { throw APIError.unauthorized }
        return try await next(request, context)
    }
}
