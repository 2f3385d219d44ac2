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
    public func `in`(_ rooms: String...) -> WsBroadcastOperator { selection(rooms) }
    public func except(_ rooms: String...) -> WsBroadcastOperator { selection([]).except(rooms) }
    public var volatile: WsBroadcastOperator { selection([]).volatile }

    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) { selection([]).emit(event, data) }
    public func emit(_ event: String) { selection([]).emit(event) }
    public func fetchSockets() -> [WsClient] { selection([]).fetchSockets() }
    public var socketsCount: Int { selection([]).count }
    public func disconnectSockets(close: Bool = false) { selection([]).disconnectSockets(close: close) }

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
    public func `in`(_ rooms: String...) -> WsBroadcastOperator { service.selection(rooms) }
    public func except(_ rooms: String...) -> WsBroadcastOperator { service.selection([]).except(rooms) }
    public var volatile: WsBroadcastOperator { service.selection([]).volatile }
    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) { service.emit(event, data) }
    public func emit(_ event: String) { service.emit(event) }
    public func fetchSockets() -> [WsClient] { service.fetchSockets() }
    public var socketsCount: Int { service.socketsCount }
    public func disconnectSockets(close: Bool = false) { service.disconnectSockets(close: close) }
    public func emitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        try await service.selection([]).emitWithAck(event, data, as: R.self, timeout: timeout)
    }

    private var service: WsService { WsService(hub: hub, namespace: namespace) }
}

/// What WsService and WsServer values of one application share: the runtime, once the
/// application listens. One per DI container, found by the container's identity, because
/// `inject(...)` runs while the container is still being created.
final class WsHub: Sendable {
    private let attached = Mutex<WsGatewayRuntime?>(nil)

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
