import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 client over SwiftNIO, plain HTTP only, for `bench serve` and the server's
/// tests: one request per connection, the response head first and then its body as it arrives,
/// so a caller can time every server-sent event, or hang up mid-stream. Leaving the closure of
/// ``exchange(_:_:headers:body:_:)`` closes the connection; that is how a test plays a client
/// that goes away.
///
/// Not async-http-client: that brings TLS (BoringSSL), HTTP/2 and a connection pool, minutes of
/// every fresh build, for loopback requests that need none of them.
public struct PlainHTTPClient: Sendable {
    public let host: String
    public let port: Int
    /// The URL's path ("" or "/prefix"), put before the path of every request.
    public let basePath: String
    /// The longest silence while a response is read: past it the connection is closed and the
    /// read fails (a server that stopped answering).
    public var readTimeout: TimeAmount
    public var connectTimeout: TimeAmount = .seconds(30)

    /// `url` is `http://HOST[:PORT][/PATH]` (port 80 when absent).
    public init(url: String, readTimeout: TimeAmount = .seconds(600)) throws(PlainHTTPClientError) {
        guard url.hasPrefix("http://") else {
            throw .badURL("\(url): only http:// URLs are supported (no TLS in this client)")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        var host = String(authority)
        var port = 80
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {  // [::1]:8080
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw .badURL("\(url): the port is not a number in 1...65535") }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw .badURL("\(url): the port is not a number in 1...65535")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw .badURL("\(url): no host") }
        self.init(host: host, port: port, basePath: path, readTimeout: readTimeout)
    }

    public init(host: String, port: Int, basePath: String = "", readTimeout: TimeAmount = .seconds(600)) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.readTimeout = readTimeout
    }

    /// A whole response.
    public struct Response: Sendable {
        public let head: HTTPResponseHead
        public let body: [UInt8]
        public var status: HTTPResponseStatus { head.status }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The body of the response being read, chunk by chunk as the server sends it.
    public struct BodyReader {
        var iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
        let readTimeout: TimeAmount
        var ended = false

        mutating func head() async throws -> HTTPResponseHead {
            while let part = try await iterator.next() {
                guard case .head(let head) = part else { continue }
                return head
            }
            throw PlainHTTPClientError.closed("the connection closed before a response came (or nothing came for \(readTimeout))")
        }

        /// The next piece of the body as it arrived, or nil at its end.
        public mutating func next() async throws -> ByteBuffer? {
            guard !ended else { return nil }
            while let part = try await iterator.next() {
                switch part {
                case .body(let buffer): return buffer
                case .end: ended = true; return nil
                case .head: throw PlainHTTPClientError.closed("a second response head")
                }
            }
            throw PlainHTTPClientError.closed("the connection closed before the response ended (or nothing came for \(readTimeout))")
        }

        /// The rest of the body; more than `limit` bytes is an error.
        public mutating func collect(upTo limit: Int) async throws -> [UInt8] {
            var bytes: [UInt8] = []
            while let buffer = try await next() {
                guard bytes.count + buffer.readableBytes <= limit else { throw PlainHTTPClientError.tooLarge(limit) }
                bytes += buffer.readableBytesView
            }
            return bytes
        }
    }

    /// Sends one request and hands its response head and body to `read`; the connection closes
    /// when `read` returns or throws, read to the end or not.
    public func exchange<Result>(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        _ read: (HTTPResponseHead, inout BodyReader) async throws -> Result
    ) async throws -> Result {
        let readTimeout = readTimeout
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: readTimeout), CloseWhenIdle()])
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: basePath + path)
        head.headers.add(name: "Host", value: port == 80 ? host : "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        if !body.isEmpty || method == .POST || method == .PUT { head.headers.add(name: "Content-Length", value: "\(body.count)") }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let requestHead = head
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(requestHead))
            if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var reader = BodyReader(iterator: inbound.makeAsyncIterator(), readTimeout: readTimeout)
            let responseHead = try await reader.head()
            return try await read(responseHead, &reader)
        }
    }

    /// Sends one request and reads its whole response (at most `limit` bytes of body).
    public func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [], limit: Int = 64 << 20
    ) async throws -> Response {
        try await exchange(method, path, headers: headers, body: body) { head, reader in
            Response(head: head, body: try await reader.collect(upTo: limit))
        }
    }
}

public enum PlainHTTPClientError: Error, CustomStringConvertible, Sendable {
    case badURL(String)
    case closed(String)
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .badURL(let m): "bad URL: \(m)"
        case .closed(let m): m
        case .tooLarge(let limit): "the response body is longer than \(limit) bytes"
        }
    }
}

/// Closes the connection when the idle handler before it says nothing was read for its timeout.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
