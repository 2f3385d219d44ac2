/// Where a gateway listens and what it handles: the value its `gateway` property returns.
///
/// Built with chained calls, each returning a new definition; handlers that are written as
/// plain (non-`async`) closures run inline on the loop thread that owns the connection,
/// `async` ones on an executor bound to that loop.
public struct WsGatewayDefinition<G: WsGateway>: Sendable {
    public var path: String
    public var namespace: String
    public var wireProtocol: WsWireProtocol
    /// Checked once at connect, before any handler runs (see ``WsGuard``).
    public var guards: [any WsGuard.Type] = []
    var connectionHandler: (@Sendable (G, WsClient) async throws -> Void)?
    var disconnectionHandler: (@Sendable (G, WsClient) async -> Void)?
    var messageHandlers: [String: WsMessageHandler<G>] = [:]
    var binaryHandler: (@Sendable (G, WsClient, [UInt8]) async throws -> Void)?

    public init(path: String = "/", namespace: String = "/", protocol wireProtocol: WsWireProtocol = .json) {
        self.path = path
        self.namespace = namespace.hasPrefix("/") ? namespace : "/" + namespace
        self.wireProtocol = wireProtocol
    }

    /// The URL path clients connect to: the path followed by the namespace ("/ws" + "/chat").
    public var url: String {
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        return namespace == "/" ? (base.isEmpty ? "/" : base) : base + namespace
    }

    public func guarded(by guards: any WsGuard.Type...) -> Self {
        var copy = self
        copy.guards += guards
        return copy
    }

    public func onConnection(_ handler: @escaping @Sendable (G, WsClient) async throws -> Void) -> Self {
        var copy = self
        copy.connectionHandler = handler
        return copy
    }

    public func onDisconnection(_ handler: @escaping @Sendable (G, WsClient) async -> Void) -> Self {
        var copy = self
        copy.disconnectionHandler = handler
        return copy
    }

    /// Binary frames of this gateway's clients.
    public func onBinary(_ handler: @escaping @Sendable (G, WsClient, [UInt8]) async throws -> Void) -> Self {
        var copy = self
        copy.binaryHandler = handler
        return copy
    }

    @usableFromInline
    func adding(_ handler: WsMessageHandler<G>) -> Self {
        var copy = self
        copy.messageHandlers[handler.event] = handler
        return copy
    }
}

/// One message handler: decodes the payload, checks handler-level guards, runs, and encodes
/// what it returns as the acknowledgement.
@usableFromInline
struct WsMessageHandler<G: WsGateway>: Sendable {
    @usableFromInline
    enum Body: Sendable {
        /// Runs inline on the loop thread; returns the reply's JSON text (nil: nothing to send).
        case sync(@Sendable (G, WsClient, UnsafeRawBufferPointer?) throws -> WsReply)
        case async(@Sendable (G, WsClient, [UInt8]?) async throws -> WsReply)
    }
    let event: String
    var guards: [any WsGuard.Type]
    let body: Body
    /// The payload type the handler decodes (read by the macro usage tests).
    let payloadType: Any.Type

    @usableFromInline
    init(event: String, guards: [any WsGuard.Type], body: Body, payloadType: Any.Type) {
        self.event = event
        self.guards = guards
        self.body = body
        self.payloadType = payloadType
    }
}

/// What a handler produced for the client: a value to acknowledge with, or nothing. The value
/// is encoded only when the message asked for an acknowledgement, straight into the envelope:
/// by its own codec when it has one (decided when the handler was registered, not per reply).
@usableFromInline
enum WsReply: Sendable {
    case none
    case value(any Encodable & Sendable)
    case codable(any WsJSONCodable & Sendable)
}
