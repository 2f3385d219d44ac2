/// A selection of clients to emit to: `server.to("a").to("b").except("muted").emit(...)`.
///
/// Values: each call returns a new selection. An emit is encoded once and framed once, then
/// each loop thread fans it out to its own members (each client at most once, however many
/// of the rooms it is in); with an adapter that spans instances (`RedisWsAdapter`), the same
/// encoded envelope goes to the other instances, unless the selection is `local`.
public struct WsBroadcastOperator: Sendable {
    /// nil before the application listens: the selection is empty.
    let runtime: WsGatewayRuntime?
    var selection: WsClusterSelection
    var exceptID: WsConnectionID?
    var isVolatile = false
    var isLocal = false

    init(runtime: WsGatewayRuntime?, namespace: String?) {
        self.runtime = runtime
        self.selection = WsClusterSelection(namespace: namespace)
    }

    static let detached = WsBroadcastOperator(runtime: nil, namespace: nil)

    var namespace: String? { selection.namespace }

    /// Adds rooms: a client in any of them is selected.
    public func to(_ rooms: String...) -> Self { to(rooms) }
    public func to(_ rooms: [String]) -> Self {
        var copy = self
        copy.selection.rooms += rooms
        return copy
    }

    /// Same as `to`.
    public func `in`(_ rooms: String...) -> Self { to(rooms) }

    /// Leaves out clients in any of these rooms.
    public func except(_ rooms: String...) -> Self { except(rooms) }
    public func except(_ rooms: [String]) -> Self {
        var copy = self
        copy.selection.exceptRooms += rooms
        return copy
    }

    /// The emit may be dropped for clients whose send queue is over its limit, instead of
    /// counting against them (Socket.IO's `volatile`).
    public var volatile: Self {
        var copy = self
        copy.isVolatile = true
        return copy
    }

    /// Only this instance's clients: nothing goes through the adapter.
    public var local: Self {
        var copy = self
        copy.isLocal = true
        return copy
    }

    func excluding(_ id: WsConnectionID) -> Self {
        var copy = self
        copy.exceptID = id
        return copy
    }

    /// Sends `event` with `data` to the selected clients: written once per protocol and
    /// namespace they speak. ``WsArguments`` go out as the arguments they are.
    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) {
        guard let runtime else { return }
        if let arguments = WsArguments.from(data) {
            return runtime.broadcast(self, attachments: arguments.attachments) { codec, namespace, offset, buffer, _ in
                codec.writeArguments(arguments, event: event, namespace: namespace, id: nil, ack: nil, offset: offset,
                                     into: &buffer)
                return true
            }
        }
        runtime.broadcast(self) { codec, namespace, offset, buffer, attachments in
            runtime.writeEmit(event, data, codec: codec, namespace: namespace, offset: offset, into: &buffer,
                              attachments: &attachments)
        }
    }

    public func emit(_ event: String) {
        runtime?.broadcast(self) { codec, namespace, offset, buffer, _ in
            codec.writeEvent(event, namespace: namespace, offset: offset, into: &buffer)
            return true
        }
    }

    /// Emits to each selected client of this instance and collects their acknowledgements; a
    /// client that does not answer within `timeout` makes the whole call throw (Socket.IO
    /// semantics).
    public func emitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> [R] {
        let clients = sockets
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
    public var sockets: [WsClient] { runtime?.clients(matching: self) ?? [] }

    /// The selected clients of every instance; throws when an instance does not answer
    /// within `timeout`.
    public func fetchSockets(timeout: Duration = .seconds(5)) async throws -> [WsRemoteSocket] {
        guard let runtime else { return [] }
        return try await runtime.fetchSockets(self, timeout: timeout)
    }

    /// How many clients are selected, on every instance.
    public func socketsCount(timeout: Duration = .seconds(5)) async throws -> Int {
        guard let runtime else { return 0 }
        return try await runtime.countSockets(self, timeout: timeout)
    }

    /// Disconnects the selected clients of every instance. One namespace per connection, so both
    /// forms close it; `close` picks the reason this instance's clients are given ("server
    /// disconnect" rather than "server namespace disconnect").
    public func disconnectSockets(close: Bool = false) {
        runtime?.perform(.disconnectSockets(selection, close: close), locally: sockets, local: isLocal) { $0.disconnect(close: close) }
    }

    /// The selected clients of every instance join `room`.
    public func socketsJoin(_ room: String) {
        runtime?.perform(.socketsJoin(selection, rooms: [room]), locally: sockets, local: isLocal) { $0.joinAskedByServer([room]) }
    }

    public func socketsLeave(_ room: String) {
        runtime?.perform(.socketsLeave(selection, rooms: [room]), locally: sockets, local: isLocal) { $0.leave(room) }
    }
}
