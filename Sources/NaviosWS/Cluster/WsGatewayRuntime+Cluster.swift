/// The runtime as one instance of a cluster: what it answers to other instances, and the
/// cluster-wide operations of WsServer/WsService (this instance's part done here, the rest
/// asked of the adapter).
extension WsGatewayRuntime: WsAdapterNode {
    /// Another instance's broadcast: delivered here, and kept for recovery as this instance's
    /// own are (in the order it delivered them).
    func deliver(_ broadcast: WsClusterBroadcast) {
        if let recovery, let offset = broadcast.offset, let room = broadcast.rooms.first,
           let (namespace, _) = WsRoomKey.split(room) {
            recovery.record(WsRecoveryStore.Broadcast(
                offset: offset, rooms: broadcast.rooms, exceptRooms: broadcast.exceptRooms, exceptClient: nil,
                json: broadcast.envelope, socketIO: broadcast.socketIO, attachments: broadcast.attachments, sentAt: .now),
                namespace: namespace)
        }
        deliver(broadcast, exceptID: nil)
    }

    func isDeliverable(_ broadcast: WsClusterBroadcast) -> Bool {
        guard !broadcast.envelope.isEmpty || broadcast.socketIO != nil else { return false }
        if !broadcast.envelope.isEmpty && !broadcast.envelope.withUnsafeBytes(WsJSONEnvelope.isDeliverable) { return false }
        return broadcast.socketIO?.withUnsafeBytes(WsSocketIOCodec.isDeliverable) ?? true
    }

    func isDeliverable(_ envelope: UnsafeRawBufferPointer) -> Bool { WsJSONEnvelope.isDeliverable(envelope) }

    func handle(_ request: WsClusterRequest) async -> WsClusterReply? {
        switch request {
        case .fetchSockets(let selection):
            return .sockets(clients(matching: selection).map(\.snapshot))
        case .countSockets(let selection):
            return .count(clients(matching: selection).count)
        case .rooms(let namespace):
            return .rooms(localRooms(namespace: namespace))
        case .socketsJoin(let selection, let rooms):
            for client in clients(matching: selection) { client.joinAskedByServer(rooms) }
        case .socketsLeave(let selection, let rooms):
            for client in clients(matching: selection) { rooms.forEach(client.leave) }
        case .disconnectSockets(let selection, let close):
            for client in clients(matching: selection) { client.disconnect(close: close ?? false) }
        case .emit(let selection, let envelope):
            let bytes = Array(envelope.utf8)   // checked by the adapter (isDeliverable)
            for client in clients(matching: selection) { client.send(envelope: bytes) }
        case .serverSideEmit(let namespace, let event, let data, let wantsAck):
            guard let handler = WsHub.hub(for: container).serverSideHandler(namespace: namespace, event: event) else {
                return wantsAck ? .ack(nil) : nil
            }
            do {
                let answer = try await handler(data)
                return wantsAck ? .ack(answer) : nil
            } catch {
                logger.error("server-side handler failed", metadata: ["event": "\(event)", "error": "\(error)"])
                return wantsAck ? .ack(nil) : nil
            }
        }
        return nil
    }

    // MARK: cluster-wide operations

    func fetchSockets(_ selection: WsBroadcastOperator, timeout: Duration) async throws -> [WsRemoteSocket] {
        var snapshots = selection.sockets.map(\.snapshot)
        if !selection.isLocal {
            for case .sockets(let remote) in try await adapter.request(.fetchSockets(selection.selection), timeout: timeout) {
                snapshots += remote
            }
        }
        return snapshots.map { WsRemoteSocket(snapshot: $0, runtime: self) }
    }

    func countSockets(_ selection: WsBroadcastOperator, timeout: Duration) async throws -> Int {
        var count = selection.sockets.count
        if !selection.isLocal {
            for case .count(let remote) in try await adapter.request(.countSockets(selection.selection), timeout: timeout) {
                count += remote
            }
        }
        return count
    }

    func fetchRooms(namespace: String?, timeout: Duration) async throws -> [String: Int] {
        var rooms = localRooms(namespace: namespace)
        for case .rooms(let remote) in try await adapter.request(.rooms(namespace: namespace), timeout: timeout) {
            rooms.merge(remote, uniquingKeysWith: +)
        }
        return rooms
    }

    /// Applies an operation to this instance's `clients`, then sends it to the others.
    func perform(_ request: WsClusterRequest, locally clients: [WsClient], local: Bool, _ body: (WsClient) -> Void) {
        clients.forEach(body)
        guard !local else { return }
        let adapter = adapter
        Task { _ = try? await adapter.request(request, timeout: .seconds(5)) }
    }

    /// Other instances' answers (JSON, nil for none) to a server-side emit.
    func serverSideEmit(namespace: String?, event: String, json: [UInt8], wantsAck: Bool, timeout: Duration) async throws
        -> [String?]
    {
        let request = WsClusterRequest.serverSideEmit(
            namespace: namespace, event: event, data: String(decoding: json, as: UTF8.self), wantsAck: wantsAck)
        return try await adapter.request(request, timeout: timeout).compactMap {
            if case .ack(let answer) = $0 { return .some(answer) }
            return nil
        }
    }

    /// `data` as JSON, or nil (logged) when it does not encode.
    func encodeData<T: Encodable>(_ event: String, _ data: T) -> [UInt8]? {
        do {
            return try JSONEncoding.encode(data)
        } catch {
            logger.error("server-side emit dropped: data does not encode", metadata: ["event": "\(event)", "error": "\(error)"])
            return nil
        }
    }

    /// Room name → members on this instance, in one namespace or all (the namespaces' own
    /// rooms left out), from the room index.
    func localRooms(namespace: String?) -> [String: Int] {
        var rooms: [String: Int] = [:]
        for (key, count) in engine.roomSizes {
            guard let (keyNamespace, room) = WsRoomKey.split(key), !room.isEmpty,
                  namespace == nil || keyNamespace == namespace else { continue }
            rooms[room, default: 0] += count
        }
        return rooms
    }
}

extension WsRoomKey {
    /// The namespace and room of a key.
    static func split(_ key: String) -> (namespace: String, room: String)? {
        guard let mark = key.firstIndex(of: Character(separator)) else { return nil }
        return (String(key[..<mark]), String(key[key.index(after: mark)...]))
    }
}
