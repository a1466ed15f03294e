/// How the server listens and guards the engine.
public struct ServerConfiguration: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// When set, every route but `/health` needs `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// Requests allowed to wait for admission; one more is answered 429 with `Retry-After`.
    public var maxWaiting = 64
    /// The name `/v1/models` lists and requests must name (or omit).
    public var modelName = "pagedflex"
    /// Request bodies larger than this are answered 413.
    public var maxBodyBytes = 4 << 20
    /// Seconds between SSE comment pings while a stream has nothing to send (it waits or
    /// prefills); a ping to a client that went away ends its request.
    public var pingInterval: Double = 1
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM before they are cancelled.
    public var shutdownGracePeriod: Double = 10

    public init() {}
}
