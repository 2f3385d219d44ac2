#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Connection state recovery in the runtime (``WsConnectionStateRecovery``): broadcasts get an
/// offset and are kept, a dropped client's session is saved, and a client that comes back with
/// its `pid` is made again from it: same id, rooms and `data`, then what it missed, in order.
/// Sessions live on this instance, or, when the adapter has a shared store
/// (``WsAdapter/sharedStore``), in that store, where any instance can take them back.
extension WsGatewayRuntime {
    /// Takes back the session `pid` names for `namespace`, with the broadcasts missed after
    /// `offset`, and calls `then` with it (nil: none to take) on the loop of `connection`: at
    /// once from this instance's store, after a round trip from a shared one.
    func takeSession(
        pid: String?, offset: String?, namespace: String, for connection: WsConnectionID,
        then: @escaping @Sendable (WsRecoveredSession?) -> Void
    ) {
        guard let recovery, let pid else { return then(nil) }
        guard let shared = sharedStore else {
            return then(recovery.take(pid: pid, namespace: namespace, offset: offset).map { saved, missed in
                WsRecoveredSession(pid: pid, id: saved.id, rooms: saved.rooms, data: saved.data, missed: missed,
                                   joinedAt: saved.joinedAt, joinedAtTime: saved.joinedAtTime, shared: nil)
            })
        }
        Task {
            let recovered = await self.takeSharedSession(shared, pid: pid, namespace: namespace, offset: offset)
            do {
                try self.engine.post(toLoop: connection.loop) { then(recovered) }
            } catch {
                if let recovered { self.giveBack(recovered) }
            }
        }
    }

    /// A new client of `gateway`: with recovery on, it has a session (its `pid` for next time),
    /// and when `recovered` it continues that client (same id and `data`; ``restore(_:_:)``
    /// gives back the rest once it is accepted).
    func makeClient(
        _ id: WsConnectionID, _ handshake: WsHandshake, _ gateway: AnyGateway, _ wire: WsWireProtocol,
        recovered: WsRecoveredSession?
    ) -> (WsClient, WsRecoveryStart?) {
        var start: WsRecoveryStart?
        if let recovery {
            let position = recovery.position(of: gateway.namespace)
            if let recovered {
                // Back on the instance it left, its place in the log is where it was; elsewhere,
                // where this instance's log is now.
                let joinedAt = recovered.shared == nil ? recovered.joinedAt : position
                start = WsRecoveryStart(
                    session: WsClientSession(pid: recovered.pid, id: recovered.id, recovered: true, joinedAt: joinedAt,
                                             joinedAtTime: recovered.joinedAtTime),
                    recovered: recovered, skipsGuards: recovery.settings.skipGuards)
            } else {
                start = WsRecoveryStart(
                    session: WsClientSession(pid: WsClientSession.newPID(), id: nil, recovered: false, joinedAt: position,
                                             joinedAtTime: Self.now()),
                    recovered: nil, skipsGuards: false)
            }
        }
        let client = WsClient(connectionID: id, core: engine.core, handshake: handshake, gateway: gateway, wire: wire,
                              runtime: self, session: start?.session, data: start?.recovered?.data ?? WsClientData())
        return (client, start)
    }

    /// A recovered client is back in its rooms, and is sent what it missed (on its loop, after
    /// the reply that tells it it is recovered and before anything else); nothing for a new one.
    func restore(_ client: WsClient, _ start: WsRecoveryStart) {
        guard let recovered = start.recovered else { return }
        for key in recovered.rooms { try? engine.join(client.connectionID, room: key) }
        if let id = client.session?.id { recoveredIDs.withLock { $0[id] = client.key } }
        for broadcast in recovered.missed {
            if client.wire == .json {
                client.send(broadcast.json)
            } else if let packet = broadcast.socketIO {
                client.send(packet)
                client.sendAttachments(broadcast.attachments)
            }
        }
    }

    /// Saves the session of a client whose connection dropped (not one closed on purpose).
    func saveSession(of client: WsClient, rooms: Set<String>) {
        guard let recovery, let session = client.session else { return }
        var keys: Set<String> = [WsRoomKey.everyone(client.namespace)]
        for room in rooms { keys.insert(WsRoomKey.room(client.namespace, room)) }
        let saved = WsRecoveryStore.Session(
            id: client.id, namespace: client.namespace, rooms: keys, data: client.data,
            joinedAt: session.joinedAt, joinedAtTime: session.joinedAtTime, droppedAt: .now)
        guard let shared = sharedStore else { return recovery.save(saved, pid: session.pid) }
        let (delivered, all) = recovery.delivered(to: saved)
        let record = WsSharedSession(
            id: saved.id, namespace: saved.namespace, rooms: keys.sorted(), data: client.data.jsonEntries(),
            delivered: delivered, deliveredAll: all, joinedAt: session.joinedAtTime, droppedAt: Self.now())
        guard let bytes = try? JSONEncoding.encode(record) else { return }
        shared.put(bytes, at: WsSharedSession.key(pid: session.pid), expiringAfter: recovery.settings.maxDisconnectionDuration)
    }

    /// The JSON protocol's first message when recovery is on: the client's id, `pid` (to send
    /// back in `?pid=…&offset=…`) and whether it was recovered.
    func sendSessionEvent(to client: WsClient) {
        guard let session = client.session else { return }
        client.emit(Self.sessionEvent, WsSessionInfo(id: client.id, pid: session.pid, recovered: session.recovered))
    }

    static let sessionEvent = "session"

    /// Whether a close leaves a session to recover: not one the server asked for, nor, on the
    /// JSON protocol, a normal close by the client (1000, or a close without a code). A Socket.IO
    /// client leaves on purpose with a DISCONNECT (handled apart); its transport closing, with
    /// or without Engine.IO's close packet, is recoverable, as Socket.IO's own servers count it.
    func isRecoverable(_ client: WsClient, _ code: WsCloseCode) -> Bool {
        guard recovery != nil, !client.state.withLock({ $0.closedByServer }) else { return false }
        return client.wire == .socketIO || (code != .normalClosure && code != .noStatusReceived)
    }

    /// Wall-clock time in ms since 1970: what a shared store's log ids are compared with.
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}

/// A dropped client's session, taken back: who it was and what it missed.
struct WsRecoveredSession: Sendable {
    let pid: String
    let id: String
    /// Room keys (its namespace's own included).
    let rooms: Set<String>
    let data: WsClientData
    let missed: [WsRecoveryStore.Broadcast]
    /// Where the log of the instance it was on stood when it connected; when it connected.
    let joinedAt: Int
    let joinedAtTime: Int64
    /// Taken from a shared store: the session as it was stored (given back if the connection
    /// that took it is gone before it could use it).
    let shared: WsSharedSession?
}

/// Where a new client stands in recovery: its session, and, when it continues a dropped client,
/// that client's state and the broadcasts it missed.
struct WsRecoveryStart: Sendable {
    let session: WsClientSession
    let recovered: WsRecoveredSession?
    /// A recovered client passed the gateway's guards when it first connected.
    let skipsGuards: Bool
}

/// What a JSON client is told of its session (the `session` event).
struct WsSessionInfo: Encodable, Sendable {
    let id: String
    let pid: String
    let recovered: Bool
}
