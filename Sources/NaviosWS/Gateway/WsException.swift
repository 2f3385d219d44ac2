/// An error a handler throws to answer the client with a structured error:
/// `{"event":E,"error":{"code":..,"message":..},"ack":N}` (without `ack` when the message had
/// no id). Any other error is logged and answered with `{"code":"internal_error"}`. Either
/// way the connection and the server go on.
public struct WsException: Error, Sendable, Codable, Equatable {
    public let code: WsErrorCode
    public let message: String

    public init(_ code: WsErrorCode, _ message: String = "") {
        self.code = code
        self.message = message
    }
}
