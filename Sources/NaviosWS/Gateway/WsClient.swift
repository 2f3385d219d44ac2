import Synchronization

/// One connected client of a gateway (the spec's `WsClient`).
///
/// Safe to use from any thread and to keep after its handler returns; once the client has
/// disconnected, emits to it are dropped.
public final class WsClient: Sendable, Identifiable {
    /// Unique while the server runs, across instances too (remote sockets are found by id):
    /// this instance's id and the connection's. Made when asked for, not kept: an idle
    /// connection holds no string for it.
    public var id: String { session?.id ?? runtime.id(of: connectionID, namespace: namespace) }
    public let handshake: WsHandshake
    /// The namespace of the gateway the client connected to.
    public var namespace: String { gateway.namespace }
    /// Per-client storage for handlers and guards.
    public let data: WsClientData
    /// Whether this client is one whose connection dropped, back with its id, rooms, `data` and
    /// the broadcasts it missed (``WsConnectionStateRecovery``): true in `onConnection` then.
    public var recovered: Bool { session?.recovered ?? false }
    /// Its recovery session, when recovery is on (nil otherwise: no cost to a client without).
    let session: WsClientSession?
    /// The connection under the client. Users of a client reach it through the client only.
    let connectionID: WsConnectionID
    /// The engine's C server, held: a client kept after the server stopped answers `.closed`
    /// to its emits instead of touching freed memory.
    let core: WsCoreServer
    /// The gateway this client talks to, kept here so a message needs no lookup by URL.
    let gateway: AnyGateway
    /// The wire protocol this client speaks, and its codec (read from it: a switch of two
    /// cases costs less than the 16 bytes every client would keep).
    @usableFromInline let wire: WsWireProtocol
    @usableFromInline var codec: any WsWireCodec.Type { wire.codec }
    let runtime: WsGatewayRuntime
    let state = Mutex(State())
    struct State {
        /// Server-to-client requests waiting for the client's `ack`.
        var pendingAcks: [Int64: CheckedContinuation<WsArguments, any Error>] = [:]
        var nextAckID: Int64 = 1
        var closed = false
        /// The server closed the connection on purpose (not ``dropTransport()``): no session
        /// is kept for recovery.
        var closedByServer = false
        /// The rooms the client was in as it disconnected (read from the room index then).
        var roomsAtClose: Set<String> = []
        /// Made at the first message a rate limit counts: without one a client keeps no buckets.
        var rateLimit: WsRateLimitState.Box?
        /// Counts the session's (re)starts (``WsSessionGuard``): a timer of an earlier one
        /// does nothing.
        var sessionEpoch: UInt64 = 0
    }

    init(connectionID: WsConnectionID, core: WsCoreServer, handshake: WsHandshake, gateway: AnyGateway,
         wire: WsWireProtocol, runtime: WsGatewayRuntime, session: WsClientSession? = nil, data: WsClientData = WsClientData()) {
        self.connectionID = connectionID
        self.session = session
        self.data = data
        self.core = core
        self.gateway = gateway
        self.wire = wire
        self.handshake = handshake
        self.runtime = runtime
    }

    /// The rooms the client is in, read from the engine's room index (the one record of
    /// membership; from any thread). Once it has disconnected, the rooms it was in then: a
    /// disconnection handler can still tell which rooms the client left.
    public var rooms: Set<String> {
        let closed = state.withLock { $0.closed ? $0.roomsAtClose : nil }
        if let closed { return closed }
        return runtime.rooms(of: self) ?? state.withLock { $0.roomsAtClose }
    }

    /// Sends one event to this client: what became of it (`.closed`, and logged, when `data`
    /// does not encode).
    @discardableResult
    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) -> WsSendResult {
        emit(event, data, droppable: false)
    }

    /// Sends one event without data.
    @discardableResult
    public func emit(_ event: String) -> WsSendResult {
        emit(event, droppable: false)
    }

    /// Emits that are dropped (`.dropped`) rather than queued while the client's queue is over
    /// its limit, as Socket.IO's `socket.volatile.emit`: for what is worthless late (positions,
    /// typing indicators). A message with binary attachments is dropped whole or sent whole.
    public var volatile: WsVolatileEmitter { WsVolatileEmitter(client: self) }

    func emit<T: Encodable & Sendable>(_ event: String, _ data: T, droppable: Bool) -> WsSendResult {
        if isClosed { return .closed }
        if let arguments = WsArguments.from(data) { return emit(event, arguments: arguments, id: nil, droppable: droppable) }
        var attachments: [[UInt8]] = []
        do {
            let result = try send(droppable: droppable) { codec, buffer in
                guard runtime.writeEmit(event, data, codec: codec, namespace: namespace, offset: nil, into: &buffer,
                                        attachments: &attachments) else {
                    throw WsException(.encodingFailed)
                }
            }
            if result == .sent { sendAttachments(attachments) }
            return result
        } catch {
            return .closed   // logged by writeEmit
        }
    }

    func emit(_ event: String, droppable: Bool) -> WsSendResult {
        if isClosed { return .closed }
        return send(droppable: droppable) { codec, buffer in
            codec.writeEvent(event, namespace: namespace, offset: nil, into: &buffer)
        }
    }

    /// Arguments as they came (``WsArguments``), with their attachments when the protocol has them.
    @discardableResult
    func emit(_ event: String, arguments: WsArguments, id: Int64?, droppable: Bool = false) -> WsSendResult {
        let result = send(droppable: droppable) { codec, buffer in
            codec.writeArguments(arguments, event: event, namespace: namespace, id: id, ack: nil, offset: nil, into: &buffer)
        }
        if result == .sent { sendAttachments(arguments.attachments) }
        return result
    }

    /// The binary frames that follow a message announcing them (none for a protocol without).
    func sendAttachments(_ attachments: [[UInt8]]) {
        guard codec.carriesAttachments else { return }
        for attachment in attachments {
            _ = attachment.withUnsafeBytes { core.send(connectionID, .binary, $0, false) }
        }
    }

    /// Whether the client has disconnected (an emit from another thread could not tell yet).
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Sends an event and waits for the client to answer with `{"ack":N,"data":...}`.
    public func emitWithAck<T: Encodable & Sendable, R: Decodable & Sendable>(
        _ event: String, _ data: T, as response: R.Type = R.self, timeout: Duration = .seconds(5)
    ) async throws -> R {
        // Encoded once, before an ack id is taken; the id goes into the envelope around it.
        guard let json = try? JSONEncoding.encode(data) else { throw WsException(.encodingFailed) }
        let namespace = self.namespace
        let reply = try await awaitAck(timeout: timeout) { id in
            if let arguments = WsArguments.from(data) { return _ = self.emit(event, arguments: arguments, id: id) }
            var attachments: [[UInt8]] = []
            self.send { codec, buffer in
                try? codec.writeEvent(event, namespace: namespace, id: id, into: &buffer) {
                    // Socket.IO: binary values become attachments, so the payload is written for it.
                    guard codec.carriesAttachments else { return $0.put(json) }
                    try codec.writePayload(data, into: &$0, attachments: &attachments)
                }
            }
            self.sendAttachments(attachments)
        }
        if R.self == WsArguments.self, let arguments = reply as? R { return arguments }   // all of them, as they came
        return try reply.payload.withOptionalBytes { try WsPayloadDecoding.decode(R.self, from: $0) }
    }

    /// Joins `room` (of this namespace); joining a room twice does nothing. Throws
    /// ``WsException`` `limit_exceeded` past ``WsConfig/maxRoomsPerClient`` rooms or for a name
    /// longer than ``WsConfig/maxRoomNameBytes``: from a handler, the client gets that error.
    /// Called off the client's loop thread (from a service, say), the join is queued to that
    /// loop, and a refusal for too many rooms is logged there.
    public func join(_ room: String) throws(WsException) {
        if let refusal = runtime.limits.refusal(joiningRoomNamed: room) { throw refusal }
        guard runtime.engine.currentLoop == connectionID.loop else {
            // On the loop, the join is answered at once, and a refusal is logged (the engine
            // would post it too, but could not tell of a refusal).
            try? runtime.engine.post(toLoop: connectionID.loop) {
                do throws(WsException) { try self.joinHere(room) } catch { self.logRefusedJoin(error) }
            }
            return
        }
        try joinHere(room)
    }

    /// Joins on the client's loop (or, once the loops have stopped, where posted work runs,
    /// which the engine refuses); the room limit is the index's.
    private func joinHere(_ room: String) throws(WsException) {
        do {
            try runtime.engine.join(connectionID, room: WsRoomKey.room(namespace, room))
        } catch .limitExceeded {
            throw runtime.limits.tooManyRooms
        } catch {
            return   // gone (stale) or out of memory: nothing to join
        }
    }

    /// Joins each room in turn; throws at the first one refused (those before it are joined).
    public func join(_ rooms: [String]) throws(WsException) {
        for room in rooms { try join(room) }
    }

    /// A join the server asks for (`socketsJoin`, another instance): no client to answer, so
    /// a refusal is logged.
    func joinAskedByServer(_ rooms: [String]) {
        do {
            try join(rooms)
        } catch {
            logRefusedJoin(error)
        }
    }

    private func logRefusedJoin(_ error: WsException) {
        runtime.logger.warning("join refused", metadata: ["client": "\(id)", "error": "\(error.message)"])
    }

    public func leave(_ room: String) {
        try? runtime.engine.leave(connectionID, room: WsRoomKey.room(namespace, room))
    }

    /// Everyone in `room` (of this namespace) except this client.
    public func to(_ room: String) -> WsBroadcastOperator {
        WsBroadcastOperator(runtime: runtime, namespace: namespace).to(room).excluding(connectionID)
    }

    /// Everyone in the namespace except this client.
    public var broadcast: WsBroadcastOperator {
        WsBroadcastOperator(runtime: runtime, namespace: namespace).excluding(connectionID)
    }

    /// Disconnects the client from its namespace (Socket.IO's `disconnect()`), or, with `close`,
    /// closes the connection under it (`disconnect(true)`). A Socket.IO client is sent a
    /// DISCONNECT for the namespace (its connection and other namespaces go on) unless `close`;
    /// the JSON protocol carries one namespace per connection, so both end it with 1000, and the
    /// reason says which was asked, in Socket.IO's words: "server namespace disconnect" or
    /// "server disconnect".
    public func disconnect(close: Bool = false) {
        if wire == .socketIO && !close {
            runtime.disconnectNamespace(of: self)
            return
        }
        self.close(.normalClosure, close ? "server disconnect" : "server namespace disconnect")
    }

    /// Drops the connection under the client as a network failure would: no close frame, no
    /// Engine.IO close packet (the disconnection handler sees 1006). Clients that reconnect on
    /// their own, as Socket.IO clients do, reconnect. For tests of reconnection, and to shed a
    /// client that should come back elsewhere.
    public func dropTransport() {
        close(.abnormalClosure, "")
    }

    /// The event a binary message reaches a Socket.IO client as (``send(binary:)``).
    public static let binaryEvent = "binary"

    /// Sends bytes: a binary frame on the JSON protocol (its binary channel); to a Socket.IO
    /// client, which has no channel outside events, the event ``binaryEvent`` with the bytes
    /// as its one (binary) argument.
    public func send(binary: [UInt8]) {
        guard wire == .socketIO else {
            _ = binary.withUnsafeBytes { core.send(connectionID, .binary, $0, false) }
            return
        }
        let placeholder = Array(#"[{"_placeholder":true,"num":0}]"#.utf8)
        emit(Self.binaryEvent, arguments: WsArguments(json: placeholder, attachments: [binary])!, id: nil)
    }

    /// Starts the close handshake of the client's connection.
    func close(_ code: WsCloseCode, _ reason: String) {
        if code != .abnormalClosure { state.withLock { $0.closedByServer = true } }
        _ = core.close(connectionID, code, reason)
    }

    // MARK: internals

    /// How the runtime finds this client.
    var key: WsClientKey { WsClientKey(connection: connectionID, namespace: namespace) }

    /// A JSON envelope (a remote socket's emit, written by another instance), in this client's
    /// protocol: as it is for a JSON client, read and written again for the others.
    func send(envelope: [UInt8]) {
        guard wire != .json else {
            send(envelope)
            return
        }
        envelope.withUnsafeBytes { bytes in
            guard case .event(let name, let escaped, let payload, _) = WsJSONEnvelope.decode(bytes) else { return }
            let event = WsGatewayRuntime.eventName(name, escaped: escaped)
            send { codec, buffer in
                guard let payload else { return codec.writeEvent(event, namespace: namespace, offset: nil, into: &buffer) }
                codec.writeEventHead(event, namespace: namespace, id: nil, into: &buffer)
                buffer.put(payload)
                codec.writeEventTail(id: nil, offset: nil, into: &buffer)
            }
        }
    }

    @discardableResult
    func send(_ text: [UInt8], droppable: Bool = false) -> WsSendResult {
        text.withUnsafeBytes { send($0, droppable: droppable) }
    }

    /// The bytes are copied into the connection's send queue before this returns.
    @usableFromInline @discardableResult
    func send(_ text: UnsafeRawBufferPointer, droppable: Bool = false) -> WsSendResult {
        core.sendText(connectionID, text, droppable: droppable)
    }

    /// Registers an ack id, runs `send(id)`, and waits for the answer or the timeout.
    func awaitAck(timeout: Duration, _ send: (Int64) -> Void) async throws -> WsArguments {
        let id = state.withLock { state -> Int64 in
            defer { state.nextAckID += 1 }
            return state.nextAckID
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.resolveAck(id, .failure(WsException(.ackTimeout, "no acknowledgement within \(timeout)")))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let closed = state.withLock { state -> Bool in
                if state.closed { return true }
                state.pendingAcks[id] = continuation
                return false
            }
            if closed {
                continuation.resume(throwing: WsException(.disconnected, "the client is gone"))
            } else {
                send(id)
            }
        }
    }

    /// The client's answer, as arguments (``WsArguments``): a JSON answer's `data` is one.
    func resolveAck(_ id: Int64, _ result: Result<WsArguments, any Error>) {
        let continuation = state.withLock { $0.pendingAcks.removeValue(forKey: id) }
        continuation?.resume(with: result)
    }

    /// Marks the client gone and fails what waits on it; `rooms` keeps the rooms it was in.
    func markClosed(rooms: Set<String>) {
        let pending = state.withLock { state -> [CheckedContinuation<WsArguments, any Error>] in
            state.closed = true
            state.roomsAtClose = rooms
            defer { state.pendingAcks.removeAll() }
            return Array(state.pendingAcks.values)
        }
        for continuation in pending { continuation.resume(throwing: WsException(.disconnected, "the client is gone")) }
    }
}

/// Room names as the C core sees them: scoped by namespace, so "/chat" and "/admin" can
/// both have a room "lobby". The namespace itself is a room every client of it is in.
enum WsRoomKey {
    static let separator = "\u{1F}"
    static func room(_ namespace: String, _ room: String) -> String { namespace + separator + room }
    static func everyone(_ namespace: String) -> String { namespace + separator }
}
