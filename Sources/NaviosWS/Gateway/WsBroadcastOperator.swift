/// A selection of clients to emit to: `server.to("a").to("b").except("muted").emit(...)`.
///
/// Values: each call returns a new selection. An emit is encoded once and framed once, then
/// each loop thread fans it out to its own members (each client at most once, however many
/// of the rooms it is in).
public struct WsBroadcastOperator: Sendable {
    /// nil before the application listens: the selection is empty.
    let runtime: WsGatewayRuntime?
    /// nil: every namespace (WsService).
    let namespace: String?
    var rooms: [String] = []
    var exceptRooms: [String] = []
    var exceptID: WsConnectionID?
    var isVolatile = false

    init(runtime: WsGatewayRuntime?, namespace: String?) {
        self.runtime = runtime
        self.namespace = namespace
    }

    static let detached = WsBroadcastOperator(runtime: nil, namespace: nil)

    /// Adds rooms: a client in any of them is selected.
    public func to(_ rooms: String...) -> Self { to(rooms) }
    public func to(_ rooms: [String]) -> Self {
        var copy = self
        copy.rooms += rooms
        return copy
    }

    /// Same as `to`.
    public func `in`(_ rooms: String...) -> Self { to(rooms) }

    /// Leaves out clients in any of these rooms.
    public func except(_ rooms: String...) -> Self { except(rooms) }
    public func except(_ rooms: [String]) -> Self {
        var copy = self
        copy.exceptRooms += rooms
        return copy
    }

    /// The emit may be dropped for clients whose send queue is over its limit, instead of
    /// counting against them (Socket.IO's `volatile`).
    public var volatile: Self {
        var copy = self
        copy.isVolatile = true
        return copy
    }

    func excluding(_ id: WsConnectionID) -> Self {
        var copy = self
        copy.exceptID = id
        return copy
    }

    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) {
        guard let runtime, let envelope = runtime.encodeForEmit(event, data) else { return }
        runtime.broadcast(envelope, selection: self)
    }

    public func emit(_ event: String) {
        runtime?.broadcast(WsJSON.envelope(event: event, json: nil), selection: self)
    }

    /// Emits to each selected client and collects their acknowledgements; a client that does
    /// not answer within `timeout` makes the whole call throw (Socket.IO semantics).
    public func emitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        let clients = fetchSockets()
        return try await withThrowingTaskGroup(of: R.self) { group in
            for client in clients {
                group.addTask { try await client.emitWithAck(event, data, as: R.self, timeout: timeout) }
            }
            var replies: [R] = []
            for try await reply in group { replies.append(reply) }
            return replies
        }
    }

    /// The selected clients connected to this instance.
    public func fetchSockets() -> [WsClient] { runtime?.clients(matching: self) ?? [] }

    /// How many clients are selected.
    public var count: Int { fetchSockets().count }

    public func disconnectSockets(close: Bool = false) {
        for client in fetchSockets() { client.disconnect(close: close) }
    }

    public func socketsJoin(_ room: String) {
        for client in fetchSockets() { client.join(room) }
    }

    public func socketsLeave(_ room: String) {
        for client in fetchSockets() { client.leave(room) }
    }

    /// Whether a client belongs to the selection (for fetchSockets and acks).
    func selects(_ client: WsClient) -> Bool {
        if let namespace, client.namespace != namespace { return false }
        if client.connection.id == exceptID { return false }
        let clientRooms = client.rooms
        if !exceptRooms.isEmpty && !clientRooms.isDisjoint(with: exceptRooms) { return false }
        return rooms.isEmpty || !clientRooms.isDisjoint(with: rooms)
    }
}
