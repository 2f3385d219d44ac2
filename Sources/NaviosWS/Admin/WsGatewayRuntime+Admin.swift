import NaviosJSON
import NaviosWSCore

/// The admin view (``WsAdmin``): its page, its WebSockets, and the snapshots they are sent.
extension WsGatewayRuntime {
    /// GET of the admin path: the page, or 401 without the token.
    func adminPage(_ request: WsUpgradeRequest) -> WsHTTPResponse? {
        guard let admin, request.path == admin.config.path else { return nil }
        guard request.carries(token: admin.config.token) else {
            return WsHTTPResponse(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: Array("unauthorized\n".utf8))
        }
        return WsHTTPResponse(contentType: "text/html; charset=utf-8", body: admin.page)
    }

    /// A page's WebSocket: kept with the token, closed 1008 without; sent a snapshot at once.
    func adminOpened(_ connection: borrowing WsConnection, _ request: WsUpgradeRequest, _ admin: WsAdminConsole) {
        guard request.carries(token: admin.config.token) else {
            try? connection.close(code: .policyViolation, reason: "unauthorized")
            return
        }
        admin.watch(connection.id)
        sendAdminSnapshot(to: [connection.id], adminSnapshot(admin))
    }

    /// What a page sends: `{"event":"disconnect","data":"CLIENT-ID"}` ends that client's
    /// connection (1000 "server disconnect").
    func adminMessage(_ id: WsConnectionID, _ text: UnsafeRawBufferPointer) {
        guard let message = try? WsPayloadDecoding.decode(WsJSONValue.self, from: text),
              message["event"]?.stringValue == "disconnect", let target = message["data"]?.stringValue else { return }
        let client = clientKey(ofClient: target).flatMap { key in clientsByKey.withLock { $0[key] } }
        logger.info("admin disconnect", metadata: ["client": "\(target)", "found": "\(client != nil)"])
        client?.disconnect(close: true)
    }

    /// Sends every open page a snapshot (nothing to build when none is open).
    func sendAdminSnapshots() {
        guard let admin else { return }
        let watching = admin.watching
        guard !watching.isEmpty else { return }
        sendAdminSnapshot(to: watching, adminSnapshot(admin))
    }

    private func sendAdminSnapshot(to ids: [WsConnectionID], _ snapshot: WsAdminSnapshot) {
        guard let envelope = encodeJSONEnvelope("snapshot", snapshot) else { return }
        envelope.withUnsafeBytes { bytes in
            for id in ids { try? engine.send(to: id, opcode: .text, bytes) }
        }
    }

    func adminSnapshot(_ admin: WsAdminConsole) -> WsAdminSnapshot {
        let stats = engine.statistics
        let rates = admin.rates(stats)
        let clients = clientsByKey.withLock { Array($0.values) }.sorted { $0.id < $1.id }
        var perNamespace: [String: Int] = [:]
        var members: [String: [String: Int]] = [:]
        var sockets: [WsAdminSnapshot.Socket] = []
        for client in clients {
            perNamespace[client.namespace, default: 0] += 1
            let rooms = (rooms(of: client) ?? []).sorted()
            for room in rooms { members[client.namespace, default: [:]][room, default: 0] += 1 }
            if sockets.count < admin.config.maxSockets {
                sockets.append(.init(id: client.id, namespace: client.namespace,
                                     protocol: client.wire == .socketIO ? "socket.io" : "json", rooms: rooms))
            }
        }
        let rooms = members.flatMap { namespace, rooms in
            rooms.map { WsAdminSnapshot.Room(namespace: namespace, room: $0.key, members: $0.value) }
        }.sorted { ($0.members, $1.room) > ($1.members, $0.room) }
        let link = adapter.statistics
        return WsAdminSnapshot(
            connections: stats.connectionsOpen,
            namespaces: perNamespace.map { .init(name: $0.key, clients: $0.value) }.sorted { $0.name < $1.name },
            rooms: Array(rooms.prefix(10)),
            messagesInPerSecond: rates.messagesIn, messagesOutPerSecond: rates.messagesOut,
            deliveriesPerSecond: rates.deliveries,
            backpressureDrops: stats.droppedMessages, backpressureCloses: stats.backpressureCloses,
            adapter: link.map { .init(linkUp: $0.linkUp, published: $0.broadcastsPublished, received: $0.broadcastsReceived,
                                      dropped: $0.broadcastsDropped, ignored: $0.ignoredMessages) },
            ready: engine.isReady, draining: engine.isDraining,
            sockets: sockets, socketsTotal: clients.count)
    }
}
