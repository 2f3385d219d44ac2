/// The `code` of a structured error a client is sent: the gateway's own codes, listed once
/// here, and any a handler names in a ``WsException`` (`WsException("not_in_room")`).
/// Written on the wire as the bare string.
public struct WsErrorCode: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// The message is not an envelope: not JSON, not an object, or no event name. (Invalid
    /// JSON inside an object or array payload that closes is the payload's: `invalid_payload`.)
    public static let invalidEnvelope: WsErrorCode = "invalid_envelope"
    /// No handler for the event.
    public static let unknownEvent: WsErrorCode = "unknown_event"
    /// The payload is not valid JSON, or did not decode or validate (a ``WsPayloadError``, with
    /// its issues).
    public static let invalidPayload: WsErrorCode = "invalid_payload"
    /// A handler-level guard refused the message.
    public static let forbidden: WsErrorCode = "forbidden"
    /// A session guard refused the credentials of a `session_refresh` (``WsSessionGuard``).
    public static let unauthorized: WsErrorCode = "unauthorized"
    /// The client's rate limit refused the message.
    public static let rateLimited: WsErrorCode = "rate_limited"
    /// A configured limit was crossed: an event or room name too long, too many rooms.
    public static let limitExceeded: WsErrorCode = "limit_exceeded"
    /// The gateway takes no binary messages.
    public static let unsupported: WsErrorCode = "unsupported"
    /// The handler failed with an error that is not a ``WsException`` (logged, not sent).
    public static let internalError: WsErrorCode = "internal_error"
    /// `emitWithAck`: no acknowledgement in time.
    public static let ackTimeout: WsErrorCode = "ack_timeout"
    /// `emitWithAck`: the client went away before it answered.
    public static let disconnected: WsErrorCode = "disconnected"
    /// The value to send does not encode as JSON.
    public static let encodingFailed: WsErrorCode = "encoding_failed"
    /// A cluster-wide request: some instance did not answer in time.
    public static let clusterTimeout: WsErrorCode = "cluster_timeout"
    /// A cluster-wide request: the pub/sub link is down.
    public static let clusterUnreachable: WsErrorCode = "cluster_unreachable"
}
