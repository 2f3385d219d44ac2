/// Connection state recovery across instances, through the adapter's shared store (see
/// ``WsSharedSession`` for the design). What it costs:
/// - per kept broadcast: one append to its namespace's log, written with the broadcast's
///   publish and not waited for (Redis: one XADD on the same connection as the PUBLISH);
/// - per dropped connection: one put of its session (Redis: one SET with an expiry);
/// - per returning client: one take (Redis: GETDEL), then the log read newest first in chunks
///   of ``chunk`` until the client's offset (Redis: XREVRANGE), so a round trip per ``chunk``
///   broadcasts sent since it dropped.
extension WsGatewayRuntime {
    static let chunk = 128

    /// Appends a kept broadcast this instance sent (rooms, encodings and offset, as the cluster
    /// wire carries them, and the client it excluded) to its namespace's shared log.
    func appendToSharedLog(_ broadcast: WsClusterBroadcast, namespace: String, exceptClient: String?) {
        guard let sharedStore, let recovery else { return }
        var fields = [(name: "b", value: WsClusterWire.encode(broadcast: broadcast, from: nodeID))]
        if let exceptClient { fields.append((name: "c", value: Array(exceptClient.utf8))) }
        sharedStore.append(fields, to: WsSharedSession.log(of: namespace), maxLength: recovery.settings.maxBufferedBroadcasts)
    }

    /// Takes the session saved under `pid` from the shared store, and finds what it missed in
    /// its namespace's log; nil when there is none, it is another namespace's, or what it
    /// missed cannot be told or is more than a recovery may replay.
    func takeSharedSession(_ store: any WsSharedStore, pid: String, namespace: String, offset: String?) async
        -> WsRecoveredSession?
    {
        guard let recovery, let bytes = await store.take(WsSharedSession.key(pid: pid)),
              let session = try? bytes.withUnsafeBytes({ try WsPayloadDecoding.decode(WsSharedSession.self, from: $0) }),
              session.namespace == namespace,
              let plan = WsReplayPlan(session, offset: offset, maxReplayed: recovery.settings.maxReplayed),
              let missed = await missedBroadcasts(store, session, plan, limit: recovery.settings)
        else { return nil }
        let data = WsClientData()
        for (key, value) in session.data { data[key] = value }
        return WsRecoveredSession(pid: pid, id: session.id, rooms: Set(session.rooms), data: data, missed: missed,
                                  joinedAt: 0, joinedAtTime: session.joinedAt, shared: session)
    }

    /// Walks the log newest first, in chunks, until the plan's anchor; nil when the anchor is
    /// not within the kept log, or it missed more than may be replayed.
    private func missedBroadcasts(
        _ store: any WsSharedStore, _ session: WsSharedSession, _ plan: WsReplayPlan, limit: WsConnectionStateRecovery
    ) async -> [WsRecoveryStore.Broadcast]? {
        var plan = plan
        let log = WsSharedSession.log(of: session.namespace)
        var before: String?
        var walked = 0
        while walked <= limit.maxBufferedBroadcasts {
            guard let entries = await store.entries(of: log, before: before, count: Self.chunk) else { return nil }
            var step = entries.isEmpty ? plan.atOldest : .more
            for entry in entries where step == .more {
                step = plan.take(entry, sharedLogBroadcast(entry))
            }
            switch step {
            case .done: return plan.missedInOrder
            case .tooMany: return nil
            case .more:
                walked += entries.count
                before = entries.last?.id
            }
        }
        return nil
    }

    /// A shared log entry as a broadcast to replay, if it is one and passes the checks any
    /// broadcast from another instance passes before it reaches a client.
    private func sharedLogBroadcast(_ entry: WsSharedLogEntry) -> WsRecoveryStore.Broadcast? {
        guard let bytes = entry.fields["b"],
              case .broadcast(_, let broadcast)? = bytes.withUnsafeBytes(WsClusterWire.decode),
              let offset = broadcast.offset, isDeliverable(broadcast) else { return nil }
        return WsRecoveryStore.Broadcast(
            offset: offset, rooms: broadcast.rooms, exceptRooms: broadcast.exceptRooms,
            exceptClient: entry.fields["c"].map { String(decoding: $0, as: UTF8.self) },
            json: broadcast.envelope, socketIO: broadcast.socketIO, attachments: broadcast.attachments, sentAt: .now)
    }

    /// Puts a session taken from the shared store back, for the rest of its window: the
    /// connection that took it went away before it could continue it.
    func giveBack(_ recovered: WsRecoveredSession) {
        guard let session = recovered.shared, let sharedStore, let recovery,
              let bytes = try? JSONEncoding.encode(session) else { return }
        let left = recovery.settings.maxDisconnectionDuration - .milliseconds(Self.now() - session.droppedAt)
        guard left > .zero else { return }
        sharedStore.put(bytes, at: WsSharedSession.key(pid: recovered.pid), expiringAfter: left)
    }
}
