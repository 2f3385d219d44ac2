import Logging
import NaviosDI
import Synchronization

/// Drives the gateways of one application on the engine: routes each connection to the
/// gateway of its URL, runs guards and handlers, and fans out emits. It knows no wire format:
/// each gateway's codec (``WsWireCodec``) reads frames and writes replies.
///
/// The message path: the engine lends the text on the connection's loop thread; the codec
/// reads it into an event, its payload's span and its ack id without building anything; the
/// handler's payload type is decoded from the span only. A synchronous handler with no handler
/// guards runs right there; anything async goes to the loop's executor, in arrival order.
final class WsGatewayRuntime: WsUserObjectHandler, @unchecked Sendable {
    // @unchecked: `engine` and `executors` are set once in `attach`, before the engine starts;
    // everything mutable after that is behind a Mutex.
    let container: Container
    let logger: Logger
    let rateLimit: WsRateLimit?
    let limits: WsGatewayLimits
    let adapter: any WsAdapter
    /// Names this instance among others (client ids, cluster messages).
    let nodeID: String
    private let gateways: [String: AnyGateway]
    private(set) var engine: WsEngine!
    private var executors: [LoopExecutor] = []
    private let clientsByID = Mutex<[WsConnectionID: WsClient]>([:])

    init(container: Container, gateways: [AnyGateway], rateLimit: WsRateLimit?, limits: WsGatewayLimits,
         adapter: any WsAdapter, logger: Logger) {
        self.container = container
        self.logger = logger
        self.rateLimit = rateLimit
        self.limits = limits
        self.adapter = adapter
        self.nodeID = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        self.gateways = Dictionary(gateways.map { ($0.url, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func attach(_ engine: WsEngine) {
        self.engine = engine
        executors = (0..<engine.loopThreads).map { LoopExecutor(core: engine.core, loop: $0) }
    }

    var namespaces: [String] { gateways.values.map(\.namespace) }

    // MARK: engine events

    func shouldAccept(path: String) -> Bool { gateways[path] != nil }

    func onOpen(_ connection: borrowing WsConnection, request: WsUpgradeRequest) {
        guard let gateway = gateways[request.path] else {
            try? connection.close(code: .policyViolation, reason: "no gateway at this path")
            return
        }
        let id = connection.id
        let client = WsClient(connectionID: id, core: engine.core, handshake: WsHandshake(request), gateway: gateway,
                              runtime: self)
        clientsByID.withLock { $0[id] = client }   // holds it until onClose
        let slot = WsLoopSlot(client)
        // Retained by the connection until onClose releases it.
        engine.setUserObject(Unmanaged.passRetained(slot).takeUnretainedValue(), for: id)
        try? engine.join(id, room: WsRoomKey.everyone(gateway.namespace))
        if !gateway.needsSetup {
            slot.ready = true
            return
        }
        // Guards and onConnection run before any message reaches a handler; messages that
        // arrive meanwhile wait in order (see onText).
        runAsync(on: id) {
            do {
                for guardType in gateway.guards {
                    let allowed = try await self.check(guardType, WsExecutionContext(
                        client: client, event: nil, payload: nil, gateway: gateway.type))
                    if !allowed {
                        client.close(.policyViolation, "unauthorized")
                        return
                    }
                }
                try await gateway.connected(client)
            } catch {
                self.logger.warning("connection refused", metadata: ["client": "\(client.id)", "error": "\(error)"])
                client.close(.policyViolation, "unauthorized")
                return
            }
            // On the loop's executor: the slot is reachable (unless the connection is gone).
            guard let slot = self.loopSlot(of: id) else { return }
            slot.ready = true
            let early = slot.early
            slot.early.removeAll()
            for message in early {
                message.withUnsafeBytes { slot.readText(self, slot, $0, slot.queuedRuns == 0) }
            }
        }
    }

    /// The loop-only state of a connection's client: on its loop thread while it is open, else
    /// nil. Borrowed: the connection holds it.
    @inline(__always)
    private func loopSlot(of id: WsConnectionID) -> WsLoopSlot? {
        engine.userObject(WsLoopSlot.self, for: id)
    }

    func onText(_ id: WsConnectionID, _ text: UnsafeRawBufferPointer, userObject: UnsafeMutableRawPointer?) {
        // The slot the engine keeps with the connection, borrowed (it holds it until onClose):
        // a retain and release per message are two atomic operations.
        guard let userObject else { return }   // no gateway took the connection
        Unmanaged<WsLoopSlot>.fromOpaque(userObject)._withUnsafeGuaranteedRef { onText($0, text) }
    }

    private func onText(_ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer) {
        // Whether the client is ready, and whether anything of it waits on the executor (then
        // a sync handler may not run inline: order is kept).
        guard slot.ready else {
            slot.early.append(Array(text))
            if slot.early.count > Self.maxEarlyMessages {
                slot.client.close(.policyViolation, "too many messages before the connection was accepted")
            }
            return
        }
        slot.readText(self, slot, text, slot.queuedRuns == 0)
    }

    func onBinary(_ connection: borrowing WsConnection, _ data: UnsafeRawBufferPointer) {
        guard let slot = loopSlot(of: connection.id), slot.ready else { return }
        let client = slot.client
        let gateway = client.gateway
        guard gateway.hasBinaryHandler else {
            client.sendError("binary", ack: nil, WsException(.unsupported, "this gateway takes no binary messages"))
            return
        }
        let bytes = Array(data)
        runAsync(on: client.connectionID) {
            do { try await gateway.binary(client, bytes) } catch { self.reportFailure(client, "binary", nil, error) }
        }
    }

    func onClose(_ connection: borrowing WsConnection, code: WsCloseCode, reason: String) {
        let id = connection.id
        // The connection's hold on its slot (taken in onOpen) ends once this loop is done with
        // what it is running: onClose may run inside a message's handling (a close or an
        // overflowing send from a handler), which borrows the slot and its client.
        if let slot = engine.userObject(for: id) {
            engine.setUserObject(nil, for: id)
            let address = UInt(bitPattern: slot)
            try? engine.post(toLoop: id.loop) {
                Unmanaged<WsLoopSlot>.fromOpaque(UnsafeRawPointer(bitPattern: address)!).release()
            }
        }
        guard let client = clientsByID.withLock({ $0.removeValue(forKey: id) }) else { return }
        // Still in its rooms during this call (the engine leaves them after it).
        client.markClosed(rooms: rooms(of: client) ?? [])
        let gateway = client.gateway
        guard gateway.hasDisconnectionHandler else { return }
        runAsync(on: id) { await gateway.disconnected(client) }
    }

    /// A room key got its first member on this instance, or lost its last: the adapter
    /// subscribes to its traffic or stops (the room index calls this, in order).
    func onRoom(_ room: String, present: Bool) {
        if present { adapter.roomAdded(room) } else { adapter.roomRemoved(room) }
    }

    /// The rooms of `client`'s namespace it is in, from the room index; nil once it is gone.
    func rooms(of client: WsClient) -> Set<String>? {
        guard let keys = engine.rooms(of: client.connectionID) else { return nil }
        var rooms = Set<String>()
        for key in keys {
            if let (_, room) = WsRoomKey.split(key), !room.isEmpty { rooms.insert(room) }
        }
        return rooms
    }

    static let maxEarlyMessages = 256

    // MARK: dispatch

    /// One text frame, read by the gateway's codec `C` (each gateway calls this specialised for
    /// its codec: `WsTextReader`).
    @inline(__always)
    fileprivate func dispatch<C: WsWireCodec>(
        _ codec: C.Type, _ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer, inlineAllowed: Bool
    ) {
        // The client borrowed from the slot, which holds it for the call: read into a local, it
        // would be retained and released (two atomic operations per message).
        Unmanaged.passUnretained(slot.client)._withUnsafeGuaranteedRef { client in
            switch C.decode(text) {
            case .event(let name, let escaped, let payload, let ack):
                dispatch(slot, client, event: name, escaped: escaped, payload, ack, inlineAllowed: inlineAllowed)
            case .answer(let id, let payload):
                client.resolveAck(id, .success(payload.map(Array.init)))
            case .invalid(let reason):
                client.sendError("error", ack: nil, WsException(.invalidEnvelope, "\(reason)"))
            }
        }
    }

    @inline(__always)
    private func dispatch(
        _ slot: WsLoopSlot, _ client: WsClient, event name: UnsafeRawBufferPointer, escaped: Bool,
        _ data: UnsafeRawBufferPointer?, _ ack: Int64?, inlineAllowed: Bool
    ) {
        let gateway = client.gateway
        if name.count > limits.maxEventNameBytes {
            client.sendError(limits.echo(name), ack: ack, WsException(
                .limitExceeded, "the event name is longer than \(limits.maxEventNameBytes) bytes"))
            return
        }
        if !escaped, let match = gateway.handler(matching: name) {
            // No retain: the handler list, which holds it, lives as long as the gateway.
            match._withUnsafeGuaranteedRef { handler in
                run(handler, event: handler.name, slot, client, gateway, data, ack, inlineAllowed: inlineAllowed)
            }
            return
        }
        let event = Self.eventName(name, escaped: escaped)
        guard let handler = gateway.handlers[event] else {
            if admitted(client, event, ack) {
                client.sendError(event, ack: ack, WsException(.unknownEvent, "no handler for this event"))
            }
            return
        }
        run(handler, event: event, slot, client, gateway, data, ack, inlineAllowed: inlineAllowed)
    }

    /// The rate limit's verdict on one message; over the limit, the client has been told.
    @inline(__always)
    private func admitted(_ client: WsClient, _ event: String, _ ack: Int64?) -> Bool {
        guard let limit = rateLimit else { return true }
        return admitted(client, event, ack, limit)
    }

    // Apart from the check above: its clock reading would cost every message without a limit.
    @inline(never)
    private func admitted(_ client: WsClient, _ event: String, _ ack: Int64?, _ limit: WsRateLimit) -> Bool {
        let verdict = client.state.withLock { $0.rateLimit.admit(event, limit, now: .now) }
        if verdict == .allowed { return true }
        client.sendError(event, ack: ack, WsException(.rateLimited, "too many messages"))
        if verdict == .exceeded { client.close(.policyViolation, "rate limit exceeded") }
        return false
    }

    private func run(
        _ handler: AnyGateway.Handler, event: String, _ slot: WsLoopSlot, _ client: WsClient, _ gateway: AnyGateway,
        _ data: UnsafeRawBufferPointer?, _ ack: Int64?, inlineAllowed: Bool
    ) {
        guard admitted(client, event, ack) else { return }
        // Inline only when nothing of this client waits on the executor: order is kept.
        // Called through the optional, not bound to a local: a local would be a copy of the
        // closure, a retain and release per message.
        if inlineAllowed, handler.guards.isEmpty, handler.inline != nil {
            do {
                try handler.inline?(client, data, ack)
            } catch {
                reportFailure(client, event, ack, error)
            }
            return
        }
        let payload = data.map(Array.init)
        slot.queuedRuns += 1
        let id = client.connectionID
        runAsync(on: id) {
            self.loopSlot(of: id)?.queuedRuns -= 1   // on the loop's executor, as the increment was
            do {
                let json = handler.guards.isEmpty ? nil
                    : payload.flatMap { bytes in bytes.withUnsafeBytes { try? WsPayloadDecoding.decode(WsJSONValue.self, from: $0) } }
                for guardType in handler.guards {
                    let allowed = try await self.check(guardType, WsExecutionContext(
                        client: client, event: event, payload: json, gateway: gateway.type))
                    if !allowed {
                        client.sendError(event, ack: ack, WsException(.forbidden, "a guard refused this message"))
                        return
                    }
                }
                try await handler.queued(client, payload, ack)
            } catch {
                self.reportFailure(client, event, ack, error)
            }
        }
    }

    private func reportFailure(_ client: WsClient, _ event: String, _ ack: Int64?, _ error: any Error) {
        let exception: WsException
        switch error {
        case let e as WsException: exception = e
        case let e as WsPayloadError:
            client.sendError(event, ack: ack, e)
            return
        default:
            logger.error("handler failed", metadata: ["event": "\(event)", "client": "\(client.id)", "error": "\(error)"])
            exception = WsException(.internalError, "the handler failed")
        }
        client.sendError(event, ack: ack, exception)
    }

    private func check(_ guardType: any WsGuard.Type, _ context: WsExecutionContext) async throws -> Bool {
        let instance = try container.get(guardType)
        return try await instance.canActivate(context)
    }

    /// Runs `body` in a Task on the executor of the connection's loop.
    private func runAsync(on id: WsConnectionID, _ body: @escaping @Sendable () async -> Void) {
        let executor = executors[id.loop]
        Task(executorPreference: executor) { await body() }
    }

    static func eventName(_ raw: UnsafeRawBufferPointer, escaped: Bool) -> String {
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        // Rare: let the JSON decoder undo the escapes of the quoted name.
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted += raw
        quoted.append(UInt8(ascii: "\""))
        return (try? quoted.withUnsafeBytes { try WsPayloadDecoding.decode(String.self, from: $0) }) ?? String(decoding: raw, as: UTF8.self)
    }

    // MARK: emitting

    /// The codec of broadcasts and of emits from services. Every gateway speaks the JSON
    /// protocol today (``WsWireProtocol`` has one case); with several, a broadcast is encoded
    /// once per protocol present among its recipients.
    var codec: any WsWireCodec.Type { WsWireProtocol.json.codec }

    /// One event as the codec frames it, or nil (logged) when `data` does not encode.
    func encodeForEmit<T: Encodable>(_ event: String, _ data: T) -> [UInt8]? {
        var buffer = JSONBuffer(capacity: 256)
        defer { buffer.free() }
        guard writeEmit(event, data, codec: codec, into: &buffer) else { return nil }
        return Array(buffer.bytes)
    }

    /// Writes an emit of `event` with `data` in `codec`'s framing; false (logged) when `data`
    /// does not encode: the emit is dropped, as an emit from a service would be.
    func writeEmit<T: Encodable>(_ event: String, _ data: T, codec: any WsWireCodec.Type, into buffer: inout JSONBuffer) -> Bool {
        do {
            try codec.writeEvent(event, id: nil, into: &buffer) { try JSONEncoding.write(data, into: &$0) }
            return true
        } catch {
            logger.error("emit dropped: data does not encode", metadata: ["event": "\(event)", "error": "\(error)"])
            return false
        }
    }

    /// One event without data, as the codec frames it.
    func encodeForEmit(_ event: String) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 64)
        defer { buffer.free() }
        codec.writeEvent(event, into: &buffer)
        return Array(buffer.bytes)
    }

    func broadcast(_ text: [UInt8], selection: WsBroadcastOperator) {
        let rooms: [String]
        let except: [String]
        if let namespace = selection.namespace {
            rooms = selection.selection.rooms.isEmpty
                ? [WsRoomKey.everyone(namespace)] : selection.selection.rooms.map { WsRoomKey.room(namespace, $0) }
            except = selection.selection.exceptRooms.map { WsRoomKey.room(namespace, $0) }
        } else {
            // Every namespace: the room of that name in each one (with an adapter, the
            // namespaces of this instance's gateways: every instance runs the same ones).
            rooms = selection.selection.rooms.isEmpty
                ? namespaces.map(WsRoomKey.everyone)
                : selection.selection.rooms.flatMap { room in namespaces.map { WsRoomKey.room($0, room) } }
            except = selection.selection.exceptRooms.flatMap { room in namespaces.map { WsRoomKey.room($0, room) } }
        }
        let broadcast = WsClusterBroadcast(rooms: rooms, exceptRooms: except, volatile: selection.isVolatile, envelope: text)
        deliver(broadcast, exceptID: selection.exceptID)
        // Other instances get the same envelope (the sender, if any, is a client of this one).
        if !selection.isLocal && !rooms.isEmpty { adapter.publish(broadcast) }
    }

    /// Frames the envelope once and lets each loop fan it out to its own members.
    func deliver(_ broadcast: WsClusterBroadcast, exceptID: WsConnectionID? = nil) {
        guard let engine else { return }
        do {
            let message = try broadcast.envelope.withUnsafeBytes { try WsPreparedMessage(opcode: .text, bytes: $0) }
            try engine.broadcast(message, toRooms: broadcast.rooms, except: broadcast.exceptRooms, exceptID: exceptID,
                                 droppable: broadcast.volatile)
        } catch {
            logger.error("broadcast failed", metadata: ["error": "\(error)"])
        }
    }

    func clients(matching selection: WsBroadcastOperator) -> [WsClient] {
        clients(matching: selection.selection).filter { $0.connectionID != selection.exceptID }
    }

    /// The clients of this instance a selection names, found in the room index: members of
    /// its rooms (of its namespace's room when it names none), less members of its excluded
    /// rooms, in its namespace or in all.
    func clients(matching selection: WsClusterSelection) -> [WsClient] {
        let namespaces = selection.namespace.map { [$0] } ?? self.namespaces
        func members(_ keys: [String]) -> Set<WsConnectionID> {
            keys.reduce(into: Set<WsConnectionID>()) { found, key in found.formUnion(engine.members(ofRoom: key)) }
        }
        let included = members(selection.rooms.isEmpty
            ? namespaces.map(WsRoomKey.everyone)
            : selection.rooms.flatMap { room in namespaces.map { WsRoomKey.room($0, room) } })
        let excluded = members(selection.exceptRooms.flatMap { room in namespaces.map { WsRoomKey.room($0, room) } })
        var ids = included.subtracting(excluded)
        if let wanted = selection.ids { ids.formIntersection(wanted.compactMap(connectionID(ofClient:))) }
        return clientsByID.withLock { all in ids.compactMap { all[$0] } }
    }

    /// The connection of a client id of this instance (`WsClient.id`), or nil for another's.
    func connectionID(ofClient id: String) -> WsConnectionID? {
        let prefix = nodeID + "-"
        guard id.hasPrefix(prefix), let raw = UInt64(id.dropFirst(prefix.count), radix: 16) else { return nil }
        let connection = WsConnectionID(rawValue: raw)
        return id == self.id(of: connection) ? connection : nil   // only the id as WsClient writes it
    }

    /// A client's id (`WsClient.id`): this instance's id and its connection's.
    func id(of connection: WsConnectionID) -> String {
        nodeID + "-" + connection.description
    }
}

/// Makes, for one codec, the function that reads a text frame with it and dispatches what it
/// reads: the runtime's dispatch specialised for that codec.
struct WsTextReader: WsCodecSpecialised {
    typealias Made = @Sendable (WsGatewayRuntime, WsLoopSlot, UnsafeRawBufferPointer, Bool) -> Void

    func make<C: WsWireCodec>(_ codec: C.Type) -> Made {
        { runtime, slot, text, inlineAllowed in runtime.dispatch(C.self, slot, text, inlineAllowed: inlineAllowed) }
    }
}
