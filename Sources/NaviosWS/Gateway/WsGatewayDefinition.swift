/// Where a gateway listens and what it handles: the value its `gateway` property returns.
///
/// Built with chained calls, each returning a new definition; handlers that are written as
/// plain (non-`async`) closures run inline on the loop thread that owns the connection,
/// `async` ones on an executor bound to that loop.
public struct WsGatewayDefinition<G: WsGateway>: Sendable {
    public var path: String
    public var namespace: String
    /// The wire protocols its clients may speak (DESIGN §4): clients of each share its rooms.
    public var protocols: [WsWireProtocol]
    /// Checked once at connect, before any handler runs (see ``WsGuard``).
    public var guards: [any WsGuard.Type] = []
    var connectionHandler: (@Sendable (G, WsClient) async throws -> Void)?
    var disconnectionHandler: (@Sendable (G, WsClient) async -> Void)?
    var messageHandlers: [String: WsMessageHandler<G>] = [:]
    var binaryHandler: (@Sendable (G, WsClient, [UInt8]) async throws -> Void)?

    /// `path` and `namespace` make the URL of JSON clients (``url``); Socket.IO clients connect
    /// to the Engine.IO path and name the namespace in their CONNECT.
    public init(path: String = "/", namespace: String = "/", protocols: [WsWireProtocol] = [.json]) {
        self.path = path
        self.namespace = namespace.hasPrefix("/") ? namespace : "/" + namespace
        var distinct: [WsWireProtocol] = []
        for wire in protocols where !distinct.contains(wire) { distinct.append(wire) }
        self.protocols = distinct.isEmpty ? [.json] : distinct
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
    /// A body decodes the payload, runs the handler and, when the message carried an `id`
    /// (the last argument), sends the acknowledgement itself: its type is known there, so the
    /// reply is written from the value without boxing it.
    @usableFromInline
    enum Body: Sendable {
        /// Runs inline on the loop thread.
        case sync(@Sendable (G, WsClient, UnsafeRawBufferPointer?, Int64?, WsAttachments?) throws -> Void)
        case async(@Sendable (G, WsClient, [UInt8]?, Int64?, WsAttachments?) async throws -> Void)
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
