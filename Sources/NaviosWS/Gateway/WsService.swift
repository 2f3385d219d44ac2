import NaviosDI
import Synchronization

/// The application's clients, to broadcast to and to act on: every namespace, or one.
///
/// One type under the spec's two names: `inject(WsServer.self)` in a gateway gives the
/// server of the gateway's namespace, `inject(WsService.self)` in any other injectable gives
/// every namespace, and `of("/chat")` narrows either to one namespace (`everyNamespace`
/// widens it again). Before the application runs there is no one to send to: emits are dropped.
public struct WsService: Sendable {
    let hub: WsHub
    /// The namespace this value acts on; nil: every namespace.
    public let namespace: String?

    /// The same API scoped to one namespace.
    public func of(_ namespace: String) -> WsService { WsService(hub: hub, namespace: namespace) }
    /// The same API over every namespace.
    public var everyNamespace: WsService { WsService(hub: hub, namespace: nil) }

    public func to(_ rooms: String...) -> WsBroadcastOperator { selection(rooms) }
    public func to(_ rooms: [String]) -> WsBroadcastOperator { selection(rooms) }
    public func `in`(_ rooms: String...) -> WsBroadcastOperator { selection(rooms) }
    public func except(_ rooms: String...) -> WsBroadcastOperator { selection([]).except(rooms) }
    public var volatile: WsBroadcastOperator { selection([]).volatile }

    public var local: WsBroadcastOperator { selection([]).local }

    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) { selection([]).emit(event, data) }
    public func emit(_ event: String) { selection([]).emit(event) }
    /// Emits to every client of the scope and collects their acknowledgements.
    public func emitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        try await selection([]).emitWithAck(event, data, as: R.self, timeout: timeout)
    }
    /// This instance's clients.
    public var sockets: [WsClient] { selection([]).sockets }
    /// Every instance's clients.
    public func fetchSockets(timeout: Duration = .seconds(5)) async throws -> [WsRemoteSocket] {
        try await selection([]).fetchSockets(timeout: timeout)
    }
    public func socketsCount(timeout: Duration = .seconds(5)) async throws -> Int {
        try await selection([]).socketsCount(timeout: timeout)
    }
    /// Room name → members, on every instance (the namespace's own room left out).
    public func fetchRooms(timeout: Duration = .seconds(5)) async throws -> [String: Int] {
        guard let runtime = hub.runtime else { return [:] }
        return try await runtime.fetchRooms(namespace: namespace, timeout: timeout)
    }
    public func disconnectSockets(close: Bool = false) { selection([]).disconnectSockets(close: close) }
    public func socketsJoin(_ room: String) { selection([]).socketsJoin(room) }
    public func socketsLeave(_ room: String) { selection([]).socketsLeave(room) }

    /// Sends `event` to the handlers other instances registered with `onServerSideEmit`
    /// (not to this instance's own, as in Socket.IO).
    public func serverSideEmit<T: Encodable & Sendable>(_ event: String, _ data: T) {
        guard let runtime = hub.runtime, let json = runtime.encodeData(event, data) else { return }
        Task { _ = try? await runtime.serverSideEmit(namespace: namespace, event: event, json: json, wantsAck: false, timeout: .zero) }
    }

    /// The same, and waits for each other instance's answer (its handler's return value).
    public func serverSideEmitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        guard let runtime = hub.runtime else { return [] }
        guard let json = runtime.encodeData(event, data) else { throw WsException(.encodingFailed) }
        let answers = try await runtime.serverSideEmit(namespace: namespace, event: event, json: json, wantsAck: true, timeout: timeout)
        return try answers.map { answer in
            let bytes = Array((answer ?? "null").utf8)
            return try bytes.withUnsafeBytes { try WsPayloadDecoding.decode(R.self, from: $0) }
        }
    }

    /// Handles `serverSideEmit(event, ...)` from other instances; the return value is the
    /// answer `serverSideEmitWithAck` collects. A later registration for the same event
    /// replaces the earlier one.
    public func onServerSideEmit<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, _ handler: @escaping @Sendable (P) async throws -> R
    ) {
        hub.setServerSideHandler(namespace: namespace, event: event) { json in
            let bytes = Array((json ?? "null").utf8)
            let value = try bytes.withUnsafeBytes { try WsPayloadDecoding.decode(P.self, from: $0) }
            return String(decoding: try JSONEncoding.encode(try await handler(value)), as: UTF8.self)
        }
    }

    func selection(_ rooms: [String]) -> WsBroadcastOperator {
        guard let runtime = hub.runtime else { return WsBroadcastOperator.detached.to(rooms) }
        return WsBroadcastOperator(runtime: runtime, namespace: namespace).to(rooms)
    }
}

/// A gateway's server, as the spec names it: the same type as ``WsService``; injected in a
/// gateway, it is scoped to the gateway's namespace.
public typealias WsServer = WsService

/// What WsService and WsServer values of one application share: the runtime, once the
/// application listens. One per DI container, found by the container's identity, because
/// `inject(...)` runs while the container is still being created.
final class WsHub: Sendable {
    private let attached = Mutex<WsGatewayRuntime?>(nil)

    /// A server-side handler: JSON in, JSON out (nil: null).
    typealias ServerSideHandler = @Sendable (String?) async throws -> String?
    /// By namespace ("" for WsService's, which hears every namespace) and event.
    private let serverSideHandlers = Mutex<[String: [String: ServerSideHandler]]>([:])

    func setServerSideHandler(namespace: String?, event: String, _ handler: @escaping ServerSideHandler) {
        serverSideHandlers.withLock { $0[namespace ?? "", default: [:]][event] = handler }
    }

    /// The handler for an event sent to `namespace` (nil: sent with WsService): the
    /// namespace's own first, then one registered on WsService.
    func serverSideHandler(namespace: String?, event: String) -> ServerSideHandler? {
        serverSideHandlers.withLock { $0[namespace ?? ""]?[event] ?? $0[""]?[event] }
    }

    var runtime: WsGatewayRuntime? { attached.withLock { $0 } }
    func attach(_ runtime: WsGatewayRuntime?) { attached.withLock { $0 = runtime } }

    private static let hubs = Mutex<[ObjectIdentifier: WsHub]>([:])

    static func hub(for container: Container) -> WsHub {
        hubs.withLock { table in
            if let hub = table[ObjectIdentifier(container)] { return hub }
            let hub = WsHub()
            table[ObjectIdentifier(container)] = hub
            return hub
        }
    }

    static func forget(_ container: Container) {
        _ = hubs.withLock { $0.removeValue(forKey: ObjectIdentifier(container)) }
    }
}

/// `inject(WsServer.self)` in a gateway: the server of the gateway's namespace;
/// `inject(WsService.self)` (the same type) anywhere else: every namespace.
public func inject(_ type: WsService.Type) -> WsService {
    guard let container = injectionContainer() else {
        fatalError("inject(WsService.self) only works while a container builds a type (a stored-property initialiser or init())")
    }
    let namespace = (injectionTarget() as? any WsGateway.Type).map { namespaceOf($0) }
    return WsService(hub: WsHub.hub(for: container), namespace: namespace)
}

func namespaceOf<G: WsGateway>(_ type: G.Type) -> String { G.gateway.namespace }
