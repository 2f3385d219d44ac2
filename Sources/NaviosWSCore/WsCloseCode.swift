/// A WebSocket close code (RFC 6455 §7.4.1): the ones the protocol names, and any other a peer
/// or an application sends (3000-4999 are the applications').
public struct WsCloseCode: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt16) { rawValue = value }

    public var description: String { String(rawValue) }

    /// 1000: the purpose of the connection is fulfilled.
    public static let normalClosure: WsCloseCode = 1000
    /// 1001: the server is shutting down, or a browser leaves the page.
    public static let goingAway: WsCloseCode = 1001
    /// 1002: a frame broke the protocol.
    public static let protocolError: WsCloseCode = 1002
    /// 1003: a kind of data the endpoint cannot accept.
    public static let unsupportedData: WsCloseCode = 1003
    /// 1005: reported, never sent: the peer's close frame had no code.
    public static let noStatusReceived: WsCloseCode = 1005
    /// 1006: reported, never sent: the connection ended without a close frame.
    public static let abnormalClosure: WsCloseCode = 1006
    /// 1007: a text message that is not valid UTF-8.
    public static let invalidPayloadData: WsCloseCode = 1007
    /// 1008: a policy was broken (a guard refused, a limit was crossed, a queue overflowed).
    public static let policyViolation: WsCloseCode = 1008
    /// 1009: a message larger than the configured limit.
    public static let messageTooBig: WsCloseCode = 1009
    /// 1011: the server met an unexpected condition.
    public static let internalError: WsCloseCode = 1011
    /// 1013: try again later (overload).
    public static let tryAgainLater: WsCloseCode = 1013
}
