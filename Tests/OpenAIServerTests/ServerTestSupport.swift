import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OpenAIServer
import TestSupport

/// A tiny hermetic model with a tokenizer, written once per test process.
enum TinyBundle {
    static let shared = Result { () throws -> ModelBundle in
        let model = TinyModel(shape: TinyModel.shapeWithTokenizer(contextLength: 256), weightType: .f32, seed: 9)
        return try ModelBundle(path: try model.writeWithTokenizer())
    }
    static func load() throws -> ModelBundle { try shared.get() }
}

/// A server (not started) on a fresh engine over the tiny model; the engine is returned to be
/// shut down by the caller.
func makeServer(
    engine configure: (inout EngineConfiguration) -> Void = { _ in },
    server adjust: (inout ServerConfiguration) -> Void = { _ in },
    loaded: Bool = true
) throws -> (OpenAIServer, Engine) {
    var engineConfiguration = EngineConfiguration()
    engineConfiguration.kvMemory = .tokens(4096)
    configure(&engineConfiguration)
    let engine = try Engine(bundle: try TinyBundle.load(), configuration: engineConfiguration)
    var config = ServerConfiguration()
    config.modelName = "tiny"
    config.port = 0
    config.pingInterval = 0.02
    adjust(&config)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return (OpenAIServer(configuration: config, engine: loaded ? engine : nil, logger: logger), engine)
}

/// A server on a fresh engine over the tiny model, on a free loopback port, with `body` given a
/// client of it (every test goes through a real connection, as a user's client would).
func withServer<T: Sendable>(
    engine configure: (inout EngineConfiguration) -> Void = { _ in },
    server adjust: (inout ServerConfiguration) -> Void = { _ in },
    loaded: Bool = true,
    _ body: @Sendable (TestClient, OpenAIServer) async throws -> T
) async throws -> T {
    let (server, engine) = try makeServer(engine: configure, server: adjust, loaded: loaded)
    defer { engine.shutdown() }
    return try await server.serving { port in try await body(TestClient(http: PlainHTTPClient(host: "127.0.0.1", port: port)), server) }
}

/// The tests' client: JSON in, the whole response out.
struct TestClient: Sendable {
    let http: PlainHTTPClient

    /// POSTs `json` (an object, or raw text when a String) to `uri`.
    func post(_ uri: String, _ json: Any, headers: HTTPFields = [:]) async throws -> TestResponse {
        let bytes: [UInt8]
        if let text = json as? String { bytes = Array(text.utf8) } else { bytes = Array(try JSONSerialization.data(withJSONObject: json)) }
        var h = headers
        h[.contentType] = "application/json"
        return try await execute(uri, method: .POST, headers: h, body: bytes)
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri, method: .GET, headers: headers)
    }

    func execute(_ uri: String, method: NIOHTTP1.HTTPMethod, headers: HTTPFields, body: [UInt8] = []) async throws -> TestResponse {
        let response = try await http.send(method, uri, headers: headers.map { ($0.name.rawName, $0.value) }, body: body)
        var fields = HTTPFields()
        for (name, value) in response.head.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return TestResponse(status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields, body: response.body)
    }
}

/// A response as the tests read it, in swift-http-types' terms.
struct TestResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: [UInt8]
}

extension TestResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:] }
    /// The `error` object of an OpenAI error response.
    var error: [String: Any]? { object["error"] as? [String: Any] }

    /// The `data:` payloads of a server-sent-event body, checking the framing: every event is
    /// `data: ...` or a `:` comment, each ends with a blank line, the last is `data: [DONE]`.
    func events() throws -> [[String: Any]] {
        let raw = text
        guard raw.hasSuffix("\n\n") else { throw Framing("the body does not end with a blank line") }
        var payloads: [[String: Any]] = []
        var sawDone = false
        for event in raw.components(separatedBy: "\n\n").dropLast() {
            guard !sawDone else { throw Framing("an event after data: [DONE]") }
            if event.hasPrefix(":") { continue }
            guard event.hasPrefix("data: "), !event.contains("\n") else { throw Framing("not a one-line data event: \(event.prefix(80))") }
            let payload = String(event.dropFirst(6))
            if payload == "[DONE]" { sawDone = true; continue }
            guard let object = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else {
                throw Framing("a data event that is not a JSON object: \(payload.prefix(80))")
            }
            payloads.append(object)
        }
        guard sawDone else { throw Framing("no data: [DONE] at the end") }
        return payloads
    }

    struct Framing: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}

/// The value of sample `name` (with `labels`) in Prometheus text `text`.
func metricValue(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        let series = line[..<space]
        let value = Double(line[line.index(after: space)...])
        let base = series.split(separator: "{", maxSplits: 1)
        guard base.first.map(String.init) == name else { continue }
        let labelText = base.count > 1 ? String(base[1].dropLast()) : ""
        if labels.allSatisfy({ labelText.contains("\($0.key)=\"\($0.value)\"") }) { return value }
    }
    return nil
}

/// A real server on a free loopback port over the tiny model, stopped after `body`.
func withLiveServer<T: Sendable>(_ body: @Sendable (Int, OpenAIServer) async throws -> T) async throws -> T {
    let (server, engine) = try makeServer()
    defer { engine.shutdown() }
    return try await server.serving { port in try await body(port, server) }
}
