import NaviosDI
import Synchronization

/// Broadcasting from anywhere (`inject(WsService.self)` in any injectable): every namespace
/// at once, or one with `of("/chat")`.
///
/// Before the application listens there is no one to send to: emits are dropped.
public struct WsService: Sendable {
    let hub: WsHub
    let namespace: String?

    /// The same API scoped to one namespace.
    public func of(_ namespace: String) -> WsServer { WsServer(hub: hub, namespace: namespace) }

    public func to(_ rooms: String...) -> WsBroadcastOperator { selection(rooms) }
    public func to(_ rooms: [String]) -> WsBroadcastOperator { selection(rooms) }
    public func `in`(_ rooms: String...) -> WsBroadcastOperator { selection(rooms) }
    public func except(_ rooms: String...) -> WsBroadcastOperator { selection([]).except(rooms) }
    public var volatile: WsBroadcastOperator { selection([]).volatile }

    public var local: WsBroadcastOperator { selection([]).local }

    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) { selection([]).emit(event, data) }
    public func emit(_ event: String) { selection([]).emit(event) }
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

/// A gateway's own server (`inject(WsServer.self)` in a gateway): the same API as WsService,
/// scoped to the gateway's namespace.
public struct WsServer: Sendable {
    let hub: WsHub
    public let namespace: String

    public func to(_ rooms: String...) -> WsBroadcastOperator { service.selection(rooms) }
    public func to(_ rooms: [String]) -> WsBroadcastOperator { service.selection(rooms) }
    public func `in`(_ rooms: String...) -> WsBroadcastOperator { service.selection(rooms) }
    public func except(_ rooms: String...) -> WsBroadcastOperator { service.selection([]).except(rooms) }
    public var volatile: WsBroadcastOperator { service.selection([]).volatile }
    public var local: WsBroadcastOperator { service.local }
    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) { service.emit(event, data) }
    public func emit(_ event: String) { service.emit(event) }
    public var sockets: [WsClient] { service.sockets }
    public func fetchSockets(timeout: Duration = .seconds(5)) async throws -> [WsRemoteSocket] {
        try await service.fetchSockets(timeout: timeout)
    }
    public func socketsCount(timeout: Duration = .seconds(5)) async throws -> Int {
        try await service.socketsCount(timeout: timeout)
    }
    public func fetchRooms(timeout: Duration = .seconds(5)) async throws -> [String: Int] {
        try await service.fetchRooms(timeout: timeout)
    }
    public func disconnectSockets(close: Bool = false) { service.disconnectSockets(close: close) }
    public func socketsJoin(_ room: String) { service.socketsJoin(room) }
    public func socketsLeave(_ room: String) { service.socketsLeave(room) }
    public func emitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        try await service.selection([]).emitWithAck(event, data, as: R.self, timeout: timeout)
    }
    public func serverSideEmit<T: Encodable & Sendable>(_ event: String, _ data: T) { service.serverSideEmit(event, data) }
    public func serverSideEmitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        try await service.serverSideEmitWithAck(event, data, as: R.self, timeout: timeout)
    }
    public func onServerSideEmit<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, _ handler: @escaping @Sendable (P) async throws -> R
    ) {
        service.onServerSideEmit(event, P.self, handler)
    }

    private var service: WsService { WsService(hub: hub, namespace: namespace) }
}

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

/// `inject(WsService.self)`: the application's broadcasting service.
public func inject(_ type: WsService.Type) -> WsService {
    guard let container = injectionContainer() else {
        fatalError("inject(WsService.self) only works while a container builds a type (a stored-property initialiser or init())")
    }
    return WsService(hub: WsHub.hub(for: container), namespace: nil)
}

/// `inject(WsServer.self)`: in a gateway, the server of that gateway's namespace.
public func inject(_ type: WsServer.Type) -> WsServer {
    guard let container = injectionContainer(), let target = injectionTarget() else {
        fatalError("inject(WsServer.self) only works while a container builds a gateway")
    }
    guard let gateway = target as? any WsGateway.Type else {
        fatalError("inject(WsServer.self) in \(target), which is not a WsGateway: use inject(WsService.self) outside gateways")
    }
    return WsServer(hub: WsHub.hub(for: container), namespace: namespaceOf(gateway))
}

func namespaceOf<G: WsGateway>(_ type: G.Type) -> String { G.gateway.namespace }
