import Engine
import Foundation
import HTTPTypes

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its HTTP
/// status (swift-http-types' `HTTPResponse.Status`: plain values, no networking). Every failure
/// the server answers is one of these: bad input is a 4xx that names the problem, never a 500.
/// OpenAIServer turns one into a Hummingbird response (`APIError.response`).
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Seconds the client should wait before retrying (429, 503).
    public var retryAfter: Int?
    /// Whether the answer says `Connection: close` (the server closes the connection after it).
    public var closesConnection = false

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static func notFound(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .notFound, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static let unauthorized = APIError(
        status: .unauthorized, message: "a valid API key is required: send 'Authorization: Bearer KEY'",
        type: "invalid_request_error", code: "invalid_api_key")

    public static func overloaded(waiting: Int) -> APIError {
        APIError(
            status: .tooManyRequests, message: "the server is at capacity: \(waiting) requests are already waiting; retry later",
            type: "rate_limit_error", code: "rate_limit_exceeded", retryAfter: 1)
    }

    public static let loading = APIError(
        status: .serviceUnavailable, message: "the model is still loading; retry shortly", type: "service_unavailable",
        code: "model_loading", retryAfter: 1)

    public static let shuttingDown = APIError(
        status: .serviceUnavailable, message: "the server is shutting down", type: "service_unavailable", code: "shutting_down")

    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, message: "the request body is larger than the limit of \(limit) bytes",
            type: "invalid_request_error", code: "request_too_large")
    }

    /// The answer to an engine's refusal of a request.
    public init(_ error: EngineError) {
        switch error {
        case .emptyPrompt: self = .invalidRequest("the prompt is empty", param: "prompt")
        case .promptTooLong(let n, let context):
            self = .invalidRequest(
                "the prompt has \(n) tokens, but the model's context holds \(context) tokens (the prompt must leave room for at least one generated token)",
                param: "prompt", code: "context_length_exceeded")
        case .invalidToken:
            self = .invalidRequest(error.description, param: "prompt", code: "invalid_token")
        case .invalidSampling, .invalidConfiguration:
            self = .invalidRequest(error.description)
        case .exceedsKVBudget:
            self = .invalidRequest(error.description, param: "max_tokens", code: "kv_budget_exceeded")
        case .engineStopped: self = .shuttingDown
        case .cancelled:
            self = APIError(status: .serviceUnavailable, message: error.description, type: "service_unavailable", code: "cancelled")
        case .modelNotFound, .model, .tokenizer, .tokenizerMetadata:
            self = APIError(status: .serviceUnavailable, message: error.description, type: "service_unavailable", code: "model_unavailable")
        }
    }

    /// The JSON body: `{"error": {...}}`.
    public var body: [UInt8] {
        var object: [String: Any] = ["message": message, "type": type]
        object["param"] = param ?? NSNull()
        object["code"] = code ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: ["error": object], options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }
}
