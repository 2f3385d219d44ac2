import NaviosJSON

/// Socket.IO connections: each Engine.IO message is one packet (``SocketIOPacket``) for one
/// namespace. CONNECT makes that namespace's client (through the gateway's guards, answered with
/// the CONNECT reply or CONNECT_ERROR), DISCONNECT ends it, EVENT and ACK go to it, and a binary
/// packet waits for the attachments it announced. From the client on, a message takes the same
/// path as a JSON client's: the same handler lookup, limits, guards and handlers.
///
/// How arguments map onto a handler's payload (DESIGN §4): the one argument after the event's
/// name is the payload; several are an array; none is no payload. A handler of ``WsArguments``
/// gets them all, whatever their number.
extension WsGatewayRuntime {
    /// The reply to a CONNECT for a namespace no gateway serves, in Socket.IO's words.
    static let invalidNamespace = "Invalid namespace"

    func readSocketIO(_ connection: WsSocketIOConnection, _ id: WsConnectionID, _ text: UnsafeRawBufferPointer) {
        // Socket.IO's own parser fails the connection on the same things.
        guard connection.pending == nil else { return refuse(id, "a text packet came where attachments were due") }
        let packet: SocketIOPacket
        do {
            packet = try SocketIOPacket.parse(text)
        } catch {
            return refuse(id, "malformed Socket.IO packet (\(error))")
        }
        if packet.attachments > 0 {
            connection.pending = WsSocketIOConnection.PendingBinary(text: Array(text), packet: packet)
            return
        }
        handle(connection, id, packet, text, attachments: nil)
    }

    /// A binary message: the next attachment of the packet waiting for it.
    func readSocketIOAttachment(_ connection: WsSocketIOConnection, _ id: WsConnectionID, _ data: UnsafeRawBufferPointer) {
        guard let pending = connection.pending else { return refuse(id, "an attachment came that no packet announced") }
        pending.attachments.append(Array(data))
        guard pending.attachments.count == pending.packet.attachments else { return }
        connection.pending = nil
        let attachments = WsAttachments(pending.attachments)
        pending.text.withUnsafeBytes { handle(connection, id, pending.packet, $0, attachments: attachments) }
    }

    private func handle(
        _ connection: WsSocketIOConnection, _ id: WsConnectionID, _ packet: SocketIOPacket, _ text: UnsafeRawBufferPointer,
        attachments: WsAttachments?
    ) {
        let namespace = packet.namespace.map { String(decoding: UnsafeRawBufferPointer(rebasing: text[$0]), as: UTF8.self) } ?? "/"
        switch packet.kind {
        case .connect:
            connect(connection, id, namespace, auth: packet.payload.map { UnsafeRawBufferPointer(rebasing: text[$0]) })
        case .disconnect:
            guard let slot = connection[namespace] else { return }
            connection[namespace] = nil
            leaveNamespace(slot.client)
            disconnected(slot.client, keepingSession: false)   // left on purpose
        case .event, .binaryEvent, .ack, .binaryAck:
            // A packet for a namespace the connection has not joined is ignored, as Socket.IO does.
            guard let slot = packet.namespace == nil ? connection.main : connection[namespace] else { return }
            guard slot.ready else { return keepEarly(slot, text, attachments: attachments) }
            dispatch(slot, text, packet, attachments, inlineAllowed: slot.queuedRuns == 0)
        case .connectError:
            return   // never parsed from a client
        }
    }

    /// A packet for a client, once more from its text (a message that waited for the client
    /// to be ready).
    func readSocketIOPacket(_ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer, _ attachments: WsAttachments?,
                            inlineAllowed: Bool) {
        guard let packet = try? SocketIOPacket.parse(text) else { return }
        dispatch(slot, text, packet, attachments, inlineAllowed: inlineAllowed)
    }

    private func dispatch(
        _ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer, _ packet: SocketIOPacket, _ attachments: WsAttachments?,
        inlineAllowed: Bool
    ) {
        let client = slot.client
        guard let range = packet.payload, let shape = packet.arguments else { return }
        let payload = UnsafeRawBufferPointer(rebasing: text[range])
        if packet.kind == .ack || packet.kind == .binaryAck {
            guard let id = packet.ackID, let arguments = WsArguments(json: Array(payload), attachments: attachments?.buffers ?? [])
            else { return }
            return client.resolveAck(id, .success(arguments))
        }
        guard let nameRange = shape.firstString else { return }
        let name = UnsafeRawBufferPointer(rebasing: payload[nameRange])
        let ack = packet.ackID
        dispatch(slot, client, event: name, escaped: shape.firstStringEscaped, ack: ack, inlineAllowed: inlineAllowed) {
            handler, event in
            guard handler.takesArguments || shape.count > 2 else {
                let data = shape.count == 2 ? UnsafeRawBufferPointer(rebasing: payload[shape.second]) : nil
                return run(handler, event: event, slot, client, client.gateway, data, ack, attachments,
                           inlineAllowed: inlineAllowed)
            }
            // The arguments after the name, as an array: copied (the name sits before them).
            var array: [UInt8] = [UInt8(ascii: "[")]
            if shape.count > 1 { array += payload[shape.rest] }
            array.append(UInt8(ascii: "]"))
            array.withUnsafeBytes {
                run(handler, event: event, slot, client, client.gateway, $0, ack, attachments, inlineAllowed: inlineAllowed)
            }
        }
    }

    // MARK: namespaces

    /// Closes the connection if it has joined no namespace within the connect timeout, as
    /// Socket.IO servers do (a connection that never CONNECTs only costs the server).
    func closeUnlessConnected(_ id: WsConnectionID, _ connection: WsSocketIOConnection) {
        let deadlines = connectDeadlines[id.loop]
        let entry = WsConnectDeadlines.Entry(id: id, object: ObjectIdentifier(connection),
                                             due: .now + limits.socketIOConnectTimeout)
        guard deadlines.add(entry) else { return }
        runTimer(on: id) {
            // On the loop's executor, as long as deadlines are left.
            while let due = deadlines.nextDue {
                try? await Task.sleep(until: due, clock: .continuous)
                for entry in deadlines.takeDue(now: .now) {
                    guard let current = self.socketIOConnection(entry.id), ObjectIdentifier(current) == entry.object,
                          !current.everConnected else { continue }
                    self.refuse(entry.id, "no namespace joined within the connect timeout")
                }
            }
        }
    }

    /// A CONNECT: the namespace's client, made and set up (guards, then the CONNECT reply, then
    /// onConnection), or CONNECT_ERROR. A second CONNECT to a namespace joined does nothing.
    private func connect(
        _ connection: WsSocketIOConnection, _ id: WsConnectionID, _ namespace: String, auth: UnsafeRawBufferPointer?
    ) {
        guard !connection.isJoiningOrJoined(namespace) else { return }
        guard let gateway = socketIOGateways[namespace] else {
            return sendPacket(id) { SocketIOPacket.writeConnectError(Self.invalidNamespace, namespace: namespace, into: &$0) }
        }
        let authObject = auth.flatMap { try? WsPayloadDecoding.decode([String: WsJSONValue].self, from: $0) } ?? [:]
        let handshake = WsHandshake(connection.handshake, auth: authObject)
        // With recovery on, a client that had a session sends its `pid` and last offset in auth.
        func text(_ key: String) -> String? {
            if case .string(let value)? = authObject[key] { return value }
            return nil
        }
        // Packets for the namespace are ignored until its CONNECT is answered (a client waits
        // for the answer before it emits); a second CONNECT meanwhile does nothing.
        connection.startConnecting(namespace)
        takeSession(pid: text("pid"), offset: text("offset"), namespace: namespace, for: id) { recovered in
            guard let connection = self.socketIOConnection(id), connection.finishConnecting(namespace) else {
                if let recovered { self.giveBack(recovered) }   // gone meanwhile
                return
            }
            self.accept(connection, id, gateway, handshake, recovered)
        }
    }

    /// A CONNECT whose session, if it asked for one, was looked for: its client is made and set
    /// up, and answered once the guards let it in.
    private func accept(
        _ connection: WsSocketIOConnection, _ id: WsConnectionID, _ gateway: AnyGateway, _ handshake: WsHandshake,
        _ recovered: WsRecoveredSession?
    ) {
        let namespace = gateway.namespace
        let (client, start) = makeClient(id, handshake, gateway, .socketIO, recovered: recovered)
        let slot = WsLoopSlot(client) { runtime, slot, text, inlineAllowed in
            runtime.readSocketIOPacket(slot, text, nil, inlineAllowed: inlineAllowed)
        }
        connection[namespace] = slot
        setUp(client, slot, skipGuards: start?.skipsGuards ?? false, accepted: {
            self.socketIOConnection(id)?.everConnected = true
            client.send { _, buffer in
                SocketIOPacket.writeConnected(sid: client.id, pid: client.session?.pid, namespace: namespace, into: &buffer)
            }
            if let start { self.restore(client, start) }
        }, refuse: { error, accepted in
            if accepted { return self.disconnectNamespace(of: client) }   // onConnection threw
            self.forget(client)
            self.sendPacket(id) { buffer in Self.writeConnectError(error, namespace: namespace, into: &buffer) }
        })
    }

    /// CONNECT_ERROR for a refusal: a guard's ``WsException`` gives its message and itself as
    /// `data`; a guard that said no, or failed otherwise, gives "unauthorized".
    private static func writeConnectError(_ error: (any Error)?, namespace: String, into buffer: inout JSONBuffer) {
        guard let exception = error as? WsException else {
            return SocketIOPacket.writeConnectError("unauthorized", namespace: namespace, into: &buffer)
        }
        let start = buffer.count
        do {
            try SocketIOPacket.writeConnectError(exception.message, namespace: namespace, into: &buffer) {
                try JSONEncoding.write(exception, into: &$0)
            }
        } catch {
            buffer.truncate(to: start)
            SocketIOPacket.writeConnectError(exception.message, namespace: namespace, into: &buffer)
        }
    }

    /// The server ends a Socket.IO client's namespace (``WsClient/disconnect(close:)``): the
    /// client is sent DISCONNECT, leaves the namespace's rooms, and its disconnection handler
    /// runs; the connection and its other namespaces go on. On the client's loop.
    func disconnectNamespace(of client: WsClient) {
        guard engine.currentLoop == client.connectionID.loop else {
            try? engine.post(toLoop: client.connectionID.loop) { self.disconnectNamespace(of: client) }
            return
        }
        guard removeSocket(of: client) else { return }
        client.send { _, buffer in SocketIOPacket.writeDisconnect(namespace: client.namespace, into: &buffer) }
        leaveNamespace(client)
        disconnected(client, keepingSession: false)
    }

    /// A client refused at its CONNECT: gone without a disconnection (it never connected).
    private func forget(_ client: WsClient) {
        removeSocket(of: client)
        leaveNamespace(client)
        forgetClient(client)
    }

    /// Takes `client` off its connection's namespaces; false when it was not there (any more).
    /// On the client's loop.
    @discardableResult
    private func removeSocket(of client: WsClient) -> Bool {
        guard let connection = socketIOConnection(client.connectionID),
              connection[client.namespace]?.client === client else { return false }
        connection[client.namespace] = nil
        return true
    }

    /// The Socket.IO connection `id` names, on its loop thread while it is open.
    private func socketIOConnection(_ id: WsConnectionID) -> WsSocketIOConnection? {
        engine.userObject(WsLoopObject.self, for: id) as? WsSocketIOConnection
    }

    /// The connection leaves every room of the client's namespace, its namespace's own included.
    private func leaveNamespace(_ client: WsClient) {
        let prefix = WsRoomKey.everyone(client.namespace)
        for key in engine.rooms(of: client.connectionID) ?? [] where key.hasPrefix(prefix) {
            try? engine.leave(client.connectionID, room: key)
        }
    }

    /// A packet of the connection's own (CONNECT_ERROR), outside any client.
    private func sendPacket(_ id: WsConnectionID, _ write: (inout JSONBuffer) -> Void) {
        var buffer = JSONBuffer(capacity: 128)
        defer { buffer.free() }
        write(&buffer)
        _ = engine.core.sendText(id, buffer.bytes, droppable: false)
    }

    /// The connection fails: what it sent is not Socket.IO (Socket.IO servers close it too).
    private func refuse(_ id: WsConnectionID, _ reason: String) {
        logger.debug("Socket.IO connection closed", metadata: ["reason": "\(reason)"])
        _ = engine.core.close(id, .protocolError, reason)
    }
}
