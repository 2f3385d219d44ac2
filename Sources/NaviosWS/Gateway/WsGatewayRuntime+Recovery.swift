/// Connection state recovery in the runtime (``WsConnectionStateRecovery``): broadcasts get an
/// offset and are kept, a dropped client's session is saved, and a client that comes back with
/// its `pid` is made again from it: same id, rooms and `data`, then what it missed, in order.
extension WsGatewayRuntime {
    /// A new client of `gateway`: with recovery on, it has a session (its `pid` for next time),
    /// and, when `pid` and `offset` name a session it can take back, it continues that client
    /// (same id and `data`; ``restore(_:_:)`` gives back the rest once it is accepted).
    func makeClient(
        _ id: WsConnectionID, _ handshake: WsHandshake, _ gateway: AnyGateway, _ wire: WsWireProtocol,
        pid: String?, offset: String?
    ) -> (WsClient, WsRecoveryStart?) {
        var start: WsRecoveryStart?
        if let recovery {
            if let pid, let (saved, missed) = recovery.take(pid: pid, namespace: gateway.namespace, offset: offset) {
                start = WsRecoveryStart(
                    session: WsClientSession(pid: pid, id: saved.id, recovered: true, joinedAt: saved.joinedAt),
                    saved: saved, missed: missed, skipsGuards: recovery.settings.skipGuards)
            } else {
                start = WsRecoveryStart(
                    session: WsClientSession(pid: WsClientSession.newPID(), id: nil, recovered: false,
                                             joinedAt: recovery.position(of: gateway.namespace)),
                    saved: nil, missed: [], skipsGuards: false)
            }
        }
        let client = WsClient(connectionID: id, core: engine.core, handshake: handshake, gateway: gateway, wire: wire,
                              runtime: self, session: start?.session, data: start?.saved?.data ?? WsClientData())
        return (client, start)
    }

    /// A recovered client is back in its rooms, and is sent what it missed (on its loop, after
    /// the reply that tells it it is recovered and before anything else); nothing for a new one.
    func restore(_ client: WsClient, _ start: WsRecoveryStart) {
        guard let saved = start.saved else { return }
        for key in saved.rooms { try? engine.join(client.connectionID, room: key) }
        if let id = client.session?.id { recoveredIDs.withLock { $0[id] = client.key } }
        for broadcast in start.missed {
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
        recovery.save(WsRecoveryStore.Session(
            id: client.id, namespace: client.namespace, rooms: keys, data: client.data,
            joinedAt: session.joinedAt, droppedAt: .now), pid: session.pid)
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
}

/// Where a new client stands in recovery: its session, and, when it continues a dropped client,
/// that client's saved state and the broadcasts it missed.
struct WsRecoveryStart: Sendable {
    let session: WsClientSession
    let saved: WsRecoveryStore.Session?
    let missed: [WsRecoveryStore.Broadcast]
    /// A recovered client passed the gateway's guards when it first connected.
    let skipsGuards: Bool
}

/// What a JSON client is told of its session (the `session` event).
struct WsSessionInfo: Encodable, Sendable {
    let id: String
    let pid: String
    let recovered: Bool
}
