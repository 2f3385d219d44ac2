/// A client as `fetchSockets()` returns it: a snapshot of a client on any instance, with the
/// operations that reach it wherever it is (Socket.IO's `RemoteSocket`).
public struct WsRemoteSocket: Sendable, Identifiable {
    /// What travels between instances.
    public struct Snapshot: Sendable, Codable, Equatable {
        public var id: String
        public var namespace: String
        public var rooms: [String]
        public var handshake: WsHandshake
        /// The client's `data` entries that encode as JSON; others are left out.
        public var data: [String: WsJSONValue]
    }

    public let snapshot: Snapshot
    let runtime: WsGatewayRuntime

    public var id: String { snapshot.id }
    public var namespace: String { snapshot.namespace }
    public var rooms: Set<String> { Set(snapshot.rooms) }
    public var handshake: WsHandshake { snapshot.handshake }
    public var data: [String: WsJSONValue] { snapshot.data }

    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) {
        guard let envelope = runtime.encodeJSONEnvelope(event, data) else { return }
        runtime.perform(.emit(only, envelope: String(decoding: envelope, as: UTF8.self)), locally: localClient, local: false) {
            $0.send(envelope: envelope)
        }
    }

    public func join(_ room: String) {
        runtime.perform(.socketsJoin(only, rooms: [room]), locally: localClient, local: false) { $0.joinAskedByServer([room]) }
    }

    public func leave(_ room: String) {
        runtime.perform(.socketsLeave(only, rooms: [room]), locally: localClient, local: false) { $0.leave(room) }
    }

    public func disconnect(close: Bool = false) {
        runtime.perform(.disconnectSockets(only, close: close), locally: localClient, local: false) { $0.disconnect(close: close) }
    }

    private var only: WsClusterSelection { WsClusterSelection(namespace: namespace, ids: [id]) }

    /// The client itself when it is connected to this instance.
    private var localClient: [WsClient] { runtime.clients(matching: only) }
}

extension WsClient {
    var snapshot: WsRemoteSocket.Snapshot {
        WsRemoteSocket.Snapshot(id: id, namespace: namespace, rooms: rooms.sorted(), handshake: handshake,
                                data: data.jsonEntries())
    }
}
