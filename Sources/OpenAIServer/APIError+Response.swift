import HTTPTypes
import Hummingbird
import NIOCore
import OpenAIAPI

extension APIError {
    /// The Hummingbird response: the status, `Content-Type: application/json`, `Retry-After`
    /// when set, `Connection: close` when the server closes the connection after it, the error's
    /// JSON body.
    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if closesConnection { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
