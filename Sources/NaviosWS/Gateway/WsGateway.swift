import NaviosDI

/// A WebSocket gateway: an injectable class whose static `gateway` definition says where it
/// listens and which of its methods handle what. `@WebSocketGateway` and the handler macros
/// write this definition; it can equally be written by hand:
///
/// ```swift
/// final class ChatGateway: WsGateway {
///     private let server = inject(WsServer.self)
///     static let gateway = WsGatewayDefinition<ChatGateway>(path: "/ws", namespace: "/chat")
///         .onConnection { gateway, client in await gateway.handleConnection(client) }
///         .onMessage("chat:join", RoomRef.self) { gateway, params in gateway.join(params) }
///     init() {}
/// }
/// ```
public protocol WsGateway: Injectable {
    static var gateway: WsGatewayDefinition<Self> { get }
}

/// The wire protocol a gateway speaks (DESIGN §4).
public enum WsWireProtocol: Sendable, Equatable {
    /// `{"event","data","id"}` text frames, for the browser's native WebSocket and plain clients.
    case json
    /// Socket.IO v5 over Engine.IO v4 (WebSocket and HTTP long-polling), for stock Socket.IO
    /// clients: they connect to the Engine.IO path (``WsEngineConfiguration/EngineIO/path``,
    /// `/socket.io/`) and name the gateway's namespace in their CONNECT.
    case socketIO
}
