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
    // @unchecked: `engine`, `executors` and `connectDeadlines` are set once in `attach`, before
    // the engine starts; everything mutable after that is behind a Mutex (or, like each loop's
    // connect deadlines, touched only on its loop's thread).
    let container: Container
    let logger: Logger
    let rateLimit: WsRateLimit?
    let limits: WsGatewayLimits
    let adapter: any WsAdapter
    /// Names this instance among others (client ids, cluster messages).
    let nodeID: String
    /// The gateways of JSON clients, by URL, and of Socket.IO clients, by namespace.
    private let gateways: [String: AnyGateway]
    let socketIOGateways: [String: AnyGateway]
    /// The namespaces that have JSON clients (a broadcast writes the JSON envelope for them).
    private let jsonNamespaces: Set<String>
    /// Where Socket.IO clients connect (Engine.IO's path), without its trailing slash.
    private let engineIOPath: String?
    /// Every namespace served, each with its place in the sorted list (client ids name it).
    let namespaces: [String]
    private let namespaceIndex: [String: Int]
    private(set) var engine: WsEngine!
    private var executors: [LoopExecutor] = []
    /// Per loop: the Socket.IO connections that must join a namespace in time.
    private(set) var connectDeadlines: [WsConnectDeadlines] = []
    /// Every client of this instance: one per connection on the JSON protocol, one per
    /// namespace a Socket.IO connection joined.
    let clientsByKey = Mutex<[WsClientKey: WsClient]>([:])
    /// Connection state recovery's store (nil: off), and the clients that took back an id their
    /// connection does not name, by that id.
    let recovery: WsRecoveryStore?
    /// Where sessions and broadcast logs live when every instance must reach them (the
    /// adapter's shared store, with recovery on); nil: on this instance.
    let sharedStore: (any WsSharedStore)?
    let recoveredIDs = Mutex<[String: WsClientKey]>([:])
    /// Handler and guard runs started and not finished (a drain waits for them).
    let inFlight = Atomic<Int>(0)
    /// nil: no metrics (``WsConfig/metrics``).
    let metrics: WsGatewayMetrics?
    /// The scrape, when it is served on the WebSocket port; set before the engine starts.
    var metricsEndpoint: WsMetricsEndpoint?
    /// The admin view, when on (``WsConfig/admin``); set before the engine starts.
    var admin: WsAdminConsole?

    init(container: Container, gateways: [AnyGateway], rateLimit: WsRateLimit?, limits: WsGatewayLimits,
         adapter: any WsAdapter, engineIOPath: String? = nil, recovery: WsConnectionStateRecovery? = nil,
         metrics: WsGatewayMetrics? = nil, logger: Logger) {
        let nodeID = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        self.recovery = recovery.map { WsRecoveryStore($0, node: nodeID) }
        sharedStore = recovery == nil ? nil : adapter.sharedStore
        self.container = container
        self.logger = logger
        self.rateLimit = rateLimit
        self.limits = limits
        self.adapter = adapter
        self.nodeID = nodeID
        self.metrics = metrics
        if metrics != nil {
            for gateway in gateways {
                for handler in gateway.handlers.values {
                    handler.timer = WsGatewayMetrics.handlerTimer(namespace: gateway.namespace, event: handler.name)
                }
            }
        }
        let json = gateways.filter { $0.protocols.contains(.json) }
        let socketIO = gateways.filter { $0.protocols.contains(.socketIO) }
        self.gateways = Dictionary(json.map { ($0.url, $0) }, uniquingKeysWith: { first, _ in first })
        self.socketIOGateways = Dictionary(socketIO.map { ($0.namespace, $0) }, uniquingKeysWith: { first, _ in first })
        jsonNamespaces = Set(json.map(\.namespace))
        self.engineIOPath = socketIO.isEmpty ? nil : engineIOPath.map(Self.withoutTrailingSlash)
        namespaces = Set(gateways.map(\.namespace)).sorted()
        namespaceIndex = Dictionary(uniqueKeysWithValues: namespaces.enumerated().map { ($1, $0) })
    }

    private static func withoutTrailingSlash(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    func attach(_ engine: WsEngine) {
        self.engine = engine
        executors = (0..<engine.loopThreads).map { LoopExecutor(core: engine.core, loop: $0) }
        connectDeadlines = (0..<engine.loopThreads).map { _ in WsConnectDeadlines() }
    }

    // MARK: engine events

    func shouldAccept(path: String) -> Bool {
        gateways[path] != nil || (engineIOPath != nil && Self.withoutTrailingSlash(path) == engineIOPath)
            || path == admin?.config.socketPath
    }

    func onOpen(_ connection: borrowing WsConnection, request: WsUpgradeRequest) {
        if request.engineIO {
            // Its clients come with its CONNECT packets, one per namespace.
            let object = WsSocketIOConnection(handshake: WsHandshake(request, credentials: false))
            engine.setUserObject(Unmanaged.passRetained(object).takeUnretainedValue(), for: connection.id)
            closeUnlessConnected(connection.id, object)
            return
        }
        guard let gateway = gateways[request.path] else {
            if let admin, request.path == admin.config.socketPath { return adminOpened(connection, request, admin) }
            try? connection.close(code: .policyViolation, reason: "no gateway at this path")
            return
        }
        let id = connection.id
        let handshake = WsHandshake(request)
        // With recovery on, `?pid=…&offset=…` asks for a dropped connection's session back (the
        // handshake parses its query when asked: once here, and only with recovery on).
        let query = recovery == nil ? [:] : handshake.query
        let pid = query["pid"]
        let (client, start) = makeClient(id, handshake, gateway, .json, recovered: nil)
        let slot = WsLoopSlot(client, reader: Self.readJSON)
        // Retained by the connection until onClose releases it.
        engine.setUserObject(Unmanaged.passRetained(slot).takeUnretainedValue(), for: id)
        guard pid != nil else { return open(client, slot, start) }
        // Its messages wait in the slot (not ready) while its session is taken back; a fresh
        // client goes on with this one, a recovered one with a slot of its own.
        let address = UInt(bitPattern: Unmanaged.passUnretained(slot).toOpaque())
        takeSession(pid: pid, offset: query["offset"], namespace: gateway.namespace,
                    for: id) { recovered in
            guard let pointer = self.engine.userObject(for: id), UInt(bitPattern: pointer) == address else {
                if let recovered { self.giveBack(recovered) }   // gone meanwhile
                return
            }
            let waiting = Unmanaged<WsLoopSlot>.fromOpaque(pointer).takeUnretainedValue()
            guard let recovered else { return self.open(waiting.client, waiting, start) }
            let (client, start) = self.makeClient(id, handshake, gateway, .json, recovered: recovered)
            let slot = WsLoopSlot(client, reader: Self.readJSON)
            slot.early = waiting.early
            self.engine.setUserObject(Unmanaged.passRetained(slot).takeUnretainedValue(), for: id)
            Unmanaged.passUnretained(waiting).release()
            self.open(client, slot, start)
        }
    }

    /// A JSON client goes through its gateway's guards; with recovery, its session event comes
    /// first, then what it missed.
    private func open(_ client: WsClient, _ slot: WsLoopSlot, _ start: WsRecoveryStart?) {
        var accepted: (@Sendable () -> Void)?
        if let start {
            accepted = {
                self.sendSessionEvent(to: client)
                self.restore(client, start)
            }
        }
        setUp(client, slot, skipGuards: start?.skipsGuards ?? false, accepted: accepted) { _, _ in
            client.close(.policyViolation, "unauthorized")
        }
    }

    /// Makes `client` known and a member of its namespace, then runs the gateway's guards and
    /// onConnection before any of its messages reaches a handler (those that come meanwhile
    /// wait in order: see `accept`). A refusal (a guard's false or error, or onConnection
    /// throwing) calls `refuse` with the error, if any, and whether `accepted` had run:
    /// `accepted` runs once the guards let the client in, before onConnection (where Socket.IO
    /// answers the CONNECT).
    func setUp(_ client: WsClient, _ slot: WsLoopSlot, skipGuards: Bool = false, accepted: (@Sendable () -> Void)? = nil,
               refuse: @escaping @Sendable ((any Error)?, Bool) -> Void) {
        let gateway = client.gateway
        clientsByKey.withLock { $0[client.key] = client }   // holds it until it disconnects
        metrics?.clientOpened(namespace: gateway.namespace)
        try? engine.join(client.connectionID, room: WsRoomKey.everyone(gateway.namespace))
        if !gateway.hasConnectionHandler && (skipGuards || gateway.guards.isEmpty) && gateway.sessionGuards.isEmpty {
            accepted?()
            slot.ready = true
            return
        }
        runAsync(on: client.connectionID) {
            var admitted = false
            do {
                for guardType in skipGuards ? [] : gateway.guards {
                    let allowed = try await self.check(guardType, WsExecutionContext(
                        client: client, event: nil, payload: nil, gateway: gateway.type))
                    if !allowed {
                        self.metrics?.guardRefused(atConnect: true)
                        return refuse(nil, false)
                    }
                }
                // Even for a recovered client: its new connection's credentials have an end too.
                if !gateway.sessionGuards.isEmpty { try await self.startSession(client) }
                admitted = true
                accepted?()
                try await gateway.connected(client)
            } catch {
                self.logger.warning("connection refused", metadata: ["client": "\(client.id)", "error": "\(error)"])
                return refuse(error, admitted)
            }
            // On the loop's executor: the slot is reachable (unless the client is gone).
            guard let slot = self.loopSlot(of: client) else { return }
            slot.ready = true
            let early = slot.early
            slot.early.removeAll()
            for message in early {
                message.text.withUnsafeBytes { text in
                    if let attachments = message.attachments {
                        return self.readSocketIOPacket(slot, text, attachments, inlineAllowed: slot.queuedRuns == 0)
                    }
                    slot.readText(self, slot, text, slot.queuedRuns == 0)
                }
            }
        }
    }

    /// The loop-only state of a client: on its connection's loop thread while the client is
    /// connected, else nil. Borrowed: the connection holds it.
    func loopSlot(of client: WsClient) -> WsLoopSlot? {
        guard let object = engine.userObject(WsLoopObject.self, for: client.connectionID) else { return nil }
        let slot = object.slot(of: client.namespace)
        return slot?.client === client ? slot : nil
    }

    func onText(_ id: WsConnectionID, _ text: UnsafeRawBufferPointer, userObject: UnsafeMutableRawPointer?) {
        // The object the engine keeps with the connection, borrowed (it holds it until onClose):
        // a retain and release per message are two atomic operations.
        guard let userObject else {   // no gateway took the connection: an admin page's, or none
            if let admin, admin.isWatching(id) { adminMessage(id, text) }
            return
        }
        Unmanaged<WsLoopObject>.fromOpaque(userObject)._withUnsafeGuaranteedRef { object in
            // The one kind of connection or the other, told by a stored flag: no dynamic cast.
            if object.isSocketIO {
                readSocketIO(unsafeDowncast(object, to: WsSocketIOConnection.self), id, text)
            } else {
                accept(unsafeDowncast(object, to: WsLoopSlot.self), text)
            }
        }
    }

    /// A JSON client's message: read now, or kept until the client is ready.
    @inline(__always)
    private func accept(_ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer) {
        // Whether the client is ready, and whether anything of it waits on the executor (then
        // a sync handler may not run inline: order is kept).
        guard slot.ready else { return keepEarly(slot, text, attachments: nil) }
        slot.readText(self, slot, text, slot.queuedRuns == 0)
    }

    /// A message that came before its client was ready: kept, in order, up to a bound.
    func keepEarly(_ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer, attachments: WsAttachments?) {
        slot.early.append(WsEarlyMessage(text: Array(text), attachments: attachments))
        if slot.early.count > Self.maxEarlyMessages {
            slot.client.close(.policyViolation, "too many messages before the connection was accepted")
        }
    }

    func onBinary(_ connection: borrowing WsConnection, _ data: UnsafeRawBufferPointer) {
        guard let object = engine.userObject(WsLoopObject.self, for: connection.id) else { return }
        if object.isSocketIO {
            return readSocketIOAttachment(unsafeDowncast(object, to: WsSocketIOConnection.self), connection.id, data)
        }
        let slot = unsafeDowncast(object, to: WsLoopSlot.self)
        guard slot.ready else { return }
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
        guard let pointer = engine.userObject(for: id) else {
            admin?.forget(id)
            return
        }
        let object = Unmanaged<WsLoopObject>.fromOpaque(pointer).takeUnretainedValue()
        // The connection's hold on its object (taken in onOpen) ends once this loop is done with
        // what it is running: onClose may run inside a message's handling (a close or an
        // overflowing send from a handler), which borrows the object and its clients.
        engine.setUserObject(nil, for: id)
        let address = UInt(bitPattern: pointer)
        try? engine.post(toLoop: id.loop) {
            Unmanaged<WsLoopObject>.fromOpaque(UnsafeRawPointer(bitPattern: address)!).release()
        }
        for slot in object.slots { disconnected(slot.client, keepingSession: isRecoverable(slot.client, code), code: code) }
    }

    /// `client` is gone: it is forgotten, told apart from the living (what waits on it fails),
    /// its session is saved for recovery when `keepingSession`, and its gateway's disconnection
    /// handler runs. Still in its rooms during this call.
    func disconnected(_ client: WsClient, keepingSession: Bool, code: WsCloseCode? = nil) {
        guard forgetClient(client, code: code) else { return }
        if keepingSession { saveSession(of: client, rooms: client.rooms) }
        let gateway = client.gateway
        guard gateway.hasDisconnectionHandler else { return }
        runAsync(on: client.connectionID) { await gateway.disconnected(client) }
    }

    /// Forgets `client` and fails what waits on it; false when it was forgotten before. `code`:
    /// its connection's close code, nil when only its namespace ended.
    @discardableResult
    func forgetClient(_ client: WsClient, code: WsCloseCode? = nil) -> Bool {
        guard clientsByKey.withLock({ $0.removeValue(forKey: client.key) }) != nil else { return false }
        metrics?.clientClosed(namespace: client.namespace, code: code)
        client.markClosed(rooms: rooms(of: client) ?? [])
        if let id = client.session?.id { recoveredIDs.withLock { $0[id] = nil } }
        return true
    }

    /// A plain GET: the metrics scrape, when served here.
    func httpRequest(_ request: WsUpgradeRequest) -> WsHTTPResponse? {
        metricsEndpoint?.answer(request) ?? adminPage(request)
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
            if let (namespace, room) = WsRoomKey.split(key), namespace == client.namespace, !room.isEmpty {
                rooms.insert(room)
            }
        }
        return rooms
    }

    static let maxEarlyMessages = 256

    // MARK: dispatch

    /// One text frame, read by the codec `C` (called specialised for it: ``readJSON``).
    @inline(__always)
    fileprivate func dispatch<C: WsFrameDecoding>(
        _ codec: C.Type, _ slot: WsLoopSlot, _ text: UnsafeRawBufferPointer, inlineAllowed: Bool
    ) {
        // The client borrowed from the slot, which holds it for the call: read into a local, it
        // would be retained and released (two atomic operations per message).
        Unmanaged.passUnretained(slot.client)._withUnsafeGuaranteedRef { client in
            switch C.decode(text) {
            case .event(let name, let escaped, let payload, let ack):
                dispatch(slot, client, event: name, escaped: escaped, payload, ack, inlineAllowed: inlineAllowed)
            case .answer(let id, let payload):
                Self.resolve(client, answer: id, payload)
            case .invalid(let reason):
                client.sendError("error", ack: nil, WsException(.invalidEnvelope, "\(reason)"))
            }
        }
    }

    /// A JSON client's answer to `emitWithAck`: its `data` is one argument. Out of line: rare,
    /// and the message path around it is tighter without it.
    @inline(never)
    private static func resolve(_ client: WsClient, answer id: Int64, _ payload: UnsafeRawBufferPointer?) {
        client.resolveAck(id, .success(WsArguments(payload: payload)))
    }

    /// A JSON client's event: its payload is its one argument (a handler of ``WsArguments`` is
    /// given the array of it).
    @inline(__always)
    private func dispatch(
        _ slot: WsLoopSlot, _ client: WsClient, event name: UnsafeRawBufferPointer, escaped: Bool,
        _ data: UnsafeRawBufferPointer?, _ ack: Int64?, inlineAllowed: Bool
    ) {
        dispatch(slot, client, event: name, escaped: escaped, ack: ack, inlineAllowed: inlineAllowed) { handler, event in
            if handler.takesArguments { return runWithArguments(handler, event, slot, client, data, ack, inlineAllowed) }
            run(handler, event: event, slot, client, client.gateway, data, ack, nil, inlineAllowed: inlineAllowed)
        }
    }

    @inline(never)
    private func runWithArguments(
        _ handler: AnyGateway.Handler, _ event: String, _ slot: WsLoopSlot, _ client: WsClient,
        _ data: UnsafeRawBufferPointer?, _ ack: Int64?, _ inlineAllowed: Bool
    ) {
        WsArguments(payload: data).json.withUnsafeBytes {
            run(handler, event: event, slot, client, client.gateway, $0, ack, nil, inlineAllowed: inlineAllowed)
        }
    }

    /// Finds the handler of event `name` (the bytes between the quotes) and calls `run` with
    /// it, or tells the client why there is none.
    @inline(__always)
    func dispatch(
        _ slot: WsLoopSlot, _ client: WsClient, event name: UnsafeRawBufferPointer, escaped: Bool, ack: Int64?,
        inlineAllowed: Bool, _ run: (AnyGateway.Handler, String) -> Void
    ) {
        let gateway = client.gateway
        if name.count > limits.maxEventNameBytes {
            client.sendError(limits.echo(name), ack: ack, WsException(
                .limitExceeded, "the event name is longer than \(limits.maxEventNameBytes) bytes"))
            return
        }
        if !escaped, let match = gateway.handler(matching: name) {
            // No retain: the handler list, which holds it, lives as long as the gateway.
            match._withUnsafeGuaranteedRef { handler in run(handler, handler.name) }
            return
        }
        let event = Self.eventName(name, escaped: escaped)
        guard let handler = gateway.handlers[event] else {
            if admitted(client, event, ack) {
                client.sendError(event, ack: ack, WsException(.unknownEvent, "no handler for this event"))
            }
            return
        }
        run(handler, event)
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
        let verdict = client.state.withLock { state in
            let buckets = state.rateLimit ?? WsRateLimitState.Box()
            state.rateLimit = buckets
            return buckets.state.admit(event, limit, now: .now)
        }
        if verdict == .allowed { return true }
        metrics?.messageRateLimited()
        client.sendError(event, ack: ack, WsException(.rateLimited, "too many messages"))
        if verdict == .exceeded { client.close(.policyViolation, "rate limit exceeded") }
        return false
    }

    func run(
        _ handler: AnyGateway.Handler, event: String, _ slot: WsLoopSlot, _ client: WsClient, _ gateway: AnyGateway,
        _ data: UnsafeRawBufferPointer?, _ ack: Int64?, _ attachments: WsAttachments?, inlineAllowed: Bool
    ) {
        guard admitted(client, event, ack) else { return }
        // Inline only when nothing of this client waits on the executor: order is kept.
        // Called through the optional, not bound to a local: a local would be a copy of the
        // closure, a retain and release per message.
        if inlineAllowed, handler.guards.isEmpty, handler.inline != nil {
            if handler.timer != nil { return runTimed(handler, event: event, client, data, ack, attachments) }
            do {
                try handler.inline?(client, data, ack, attachments)
            } catch {
                reportFailure(client, event, ack, error)
            }
            return
        }
        runQueued(handler, event: event, slot, client, gateway, data, ack, attachments)
    }

    /// The inline run, timed for the handler's duration histogram (metrics on). Apart, so that
    /// without metrics the message path only tests for the timer.
    @inline(never)
    private func runTimed(
        _ handler: AnyGateway.Handler, event: String, _ client: WsClient, _ data: UnsafeRawBufferPointer?,
        _ ack: Int64?, _ attachments: WsAttachments?
    ) {
        let start = WsGatewayMetrics.nanosecondsNow()
        do {
            try handler.inline?(client, data, ack, attachments)
        } catch {
            reportFailure(client, event, ack, error)
        }
        handler.timer?.record(Double(WsGatewayMetrics.nanosecondsNow() &- start) / 1e9)
    }

    /// A handler run from a task on the loop's executor, after those queued before it. Out of
    /// line: inlined into the readers, the task's set-up would cost every message its stack space
    /// and a metadata lookup, taken or not.
    @inline(never)
    private func runQueued(
        _ handler: AnyGateway.Handler, event: String, _ slot: WsLoopSlot, _ client: WsClient, _ gateway: AnyGateway,
        _ data: UnsafeRawBufferPointer?, _ ack: Int64?, _ attachments: WsAttachments?
    ) {
        let payload = data.map(Array.init)
        slot.queuedRuns += 1
        let id = client.connectionID
        runAsync(on: id) {
            self.loopSlot(of: client)?.queuedRuns -= 1   // on the loop's executor, as the increment was
            do {
                let json = handler.guards.isEmpty ? nil
                    : payload.flatMap { bytes in bytes.withUnsafeBytes { try? WsPayloadDecoding.decode(WsJSONValue.self, from: $0) } }
                for guardType in handler.guards {
                    let allowed = try await self.check(guardType, WsExecutionContext(
                        client: client, event: event, payload: json, gateway: gateway.type))
                    if !allowed {
                        self.metrics?.guardRefused(atConnect: false)
                        client.sendError(event, ack: ack, WsException(.forbidden, "a guard refused this message"))
                        return
                    }
                }
                let start = handler.timer == nil ? 0 : WsGatewayMetrics.nanosecondsNow()
                defer { handler.timer?.record(Double(WsGatewayMetrics.nanosecondsNow() &- start) / 1e9) }
                try await handler.queued(client, payload, ack, attachments)
            } catch {
                self.reportFailure(client, event, ack, error)
            }
        }
    }

    func reportFailure(_ client: WsClient, _ event: String, _ ack: Int64?, _ error: any Error) {
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

    func check(_ guardType: any WsGuard.Type, _ context: WsExecutionContext) async throws -> Bool {
        let instance = try container.get(guardType)
        return try await instance.canActivate(context)
    }

    /// Runs `body` in a Task on the executor of the connection's loop: work for a client
    /// (handlers, guards), which a drain lets finish.
    func runAsync(on id: WsConnectionID, _ body: @escaping @Sendable () async -> Void) {
        let executor = executors[id.loop]
        inFlight.add(1, ordering: .relaxed)
        Task(executorPreference: executor) {
            await body()
            self.inFlight.subtract(1, ordering: .releasing)
        }
    }

    /// The same for a timer (a deadline, a delayed close), which a drain does not wait for.
    func runTimer(on id: WsConnectionID, _ body: @escaping @Sendable () async -> Void) {
        Task(executorPreference: executors[id.loop]) { await body() }
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

    /// A JSON envelope of one event (what travels for a remote socket's emit), or nil (logged)
    /// when `data` does not encode.
    func encodeJSONEnvelope<T: Encodable>(_ event: String, _ data: T) -> [UInt8]? {
        var buffer = JSONBuffer(capacity: 256)
        defer { buffer.free() }
        var none: [[UInt8]] = []
        guard writeEmit(event, data, codec: WsJSONEnvelope.self, namespace: "/", offset: nil, into: &buffer, attachments: &none)
        else { return nil }
        return Array(buffer.bytes)
    }

    /// Writes an emit of `event` with `data` in `codec`'s framing (its binary values into
    /// `attachments`, for a protocol that has them); false (logged) when `data` does not encode:
    /// the emit is dropped, as an emit from a service would be.
    func writeEmit<T: Encodable>(
        _ event: String, _ data: T, codec: any WsWireCodec.Type, namespace: String, offset: String?,
        into buffer: inout JSONBuffer, attachments: inout [[UInt8]]
    ) -> Bool {
        do {
            try codec.writeEvent(event, namespace: namespace, id: nil, offset: offset, into: &buffer) {
                try codec.writePayload(data, into: &$0, attachments: &attachments)
            }
            return true
        } catch {
            logger.error("emit dropped: data does not encode", metadata: ["event": "\(event)", "error": "\(error)"])
            return false
        }
    }

    /// Which protocols the clients of a namespace may speak.
    func protocols(of namespace: String) -> (json: Bool, socketIO: Bool) {
        (jsonNamespaces.contains(namespace), socketIOGateways[namespace] != nil)
    }

    /// Broadcasts one event to a selection: for each namespace it covers, the event is written
    /// once per protocol the namespace's clients may speak (the JSON envelope, which names no
    /// namespace, once in all), and each loop fans each encoding out to its members of that
    /// protocol. `write` writes the event in a codec's framing for a namespace, or returns false
    /// (the broadcast is dropped).
    func broadcast(
        _ selection: WsBroadcastOperator, attachments given: [[UInt8]] = [],
        write: (any WsWireCodec.Type, String, String?, inout JSONBuffer, inout [[UInt8]]) -> Bool
    ) {
        metrics?.broadcastSent()
        // The Socket.IO packet's attachments: those given (arguments as they came), or the
        // binary values its writing turned into attachments.
        var attachments = given
        func encode(_ codec: any WsWireCodec.Type, _ namespace: String, _ offset: String?) -> [UInt8]? {
            var buffer = JSONBuffer(capacity: 256)
            defer { buffer.free() }
            var written = given
            guard write(codec, namespace, offset, &buffer, &written) else { return nil }
            if codec.carriesAttachments { attachments = written }
            return Array(buffer.bytes)
        }
        // With recovery, each namespace's copy has its own offset, so its JSON envelope too.
        let kept = recovery != nil && !selection.isVolatile
        var json: [UInt8]?
        for namespace in selection.namespace.map({ [$0] }) ?? namespaces {
            let spoken = protocols(of: namespace)
            let offset = kept ? recovery?.nextOffset() : nil
            if spoken.json && (json == nil || kept) {
                guard let envelope = encode(WsJSONEnvelope.self, namespace, offset) else { return }
                json = envelope
            }
            var packet: [UInt8]?
            if spoken.socketIO {
                guard let encoded = encode(WsSocketIOCodec.self, namespace, offset) else { return }
                packet = encoded
            }
            let rooms = selection.selection.rooms.isEmpty
                ? [WsRoomKey.everyone(namespace)] : selection.selection.rooms.map { WsRoomKey.room(namespace, $0) }
            let except = selection.selection.exceptRooms.map { WsRoomKey.room(namespace, $0) }
            let broadcast = WsClusterBroadcast(
                rooms: rooms, exceptRooms: except, volatile: selection.isVolatile, envelope: spoken.json ? json ?? [] : [],
                socketIO: packet, attachments: packet == nil ? [] : attachments, offset: offset)
            if let offset, let recovery {
                let exceptClient = selection.exceptID.map { clientID(of: WsClientKey(connection: $0, namespace: namespace)) }
                recovery.record(WsRecoveryStore.Broadcast(
                    offset: offset, rooms: rooms, exceptRooms: except, exceptClient: exceptClient,
                    json: broadcast.envelope, socketIO: packet, attachments: broadcast.attachments, sentAt: .now), namespace: namespace)
                if !selection.isLocal { appendToSharedLog(broadcast, namespace: namespace, exceptClient: exceptClient) }
            }
            deliver(broadcast, exceptID: selection.exceptID)
            // Other instances get the same encodings (the sender, if any, is a client of this one).
            if !selection.isLocal { adapter.publish(broadcast) }
        }
    }

    /// Frames each encoding once and lets each loop fan it out to its own members of that
    /// protocol (the core sends a message only to connections of its protocol); attachments
    /// follow the Socket.IO packet, in order, on every connection it reached.
    func deliver(_ broadcast: WsClusterBroadcast, exceptID: WsConnectionID? = nil) {
        guard let engine else { return }
        do {
            func send(_ bytes: [UInt8], _ opcode: WsOpcode, engineIO: Bool, droppable: Bool) throws {
                let message = try bytes.withUnsafeBytes { try WsPreparedMessage(opcode: opcode, bytes: $0, engineIO: engineIO) }
                try engine.broadcast(message, toRooms: broadcast.rooms, except: broadcast.exceptRooms, exceptID: exceptID,
                                     droppable: droppable)
            }
            if !broadcast.envelope.isEmpty { try send(broadcast.envelope, .text, engineIO: false, droppable: broadcast.volatile) }
            if let packet = broadcast.socketIO {
                // A packet with attachments is never dropped in part: volatile only without them.
                try send(packet, .text, engineIO: true, droppable: broadcast.volatile && broadcast.attachments.isEmpty)
                for attachment in broadcast.attachments { try send(attachment, .binary, engineIO: true, droppable: false) }
            }
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
        func members(_ keys: [String]) -> Set<WsConnectionID> {
            keys.reduce(into: Set<WsConnectionID>()) { found, key in found.formUnion(engine.members(ofRoom: key)) }
        }
        let wanted = selection.ids.map { Set($0.compactMap(clientKey(ofClient:))) }
        var keys: [WsClientKey] = []
        for namespace in selection.namespace.map({ [$0] }) ?? namespaces {
            let included = members(selection.rooms.isEmpty
                ? [WsRoomKey.everyone(namespace)] : selection.rooms.map { WsRoomKey.room(namespace, $0) })
            let excluded = members(selection.exceptRooms.map { WsRoomKey.room(namespace, $0) })
            for id in included.subtracting(excluded) {
                let key = WsClientKey(connection: id, namespace: namespace)
                if wanted?.contains(key) ?? true { keys.append(key) }
            }
        }
        return clientsByKey.withLock { all in keys.compactMap { all[$0] } }
    }

    /// The client of a client id of this instance (`WsClient.id`), or nil for another's.
    func clientKey(ofClient id: String) -> WsClientKey? {
        if recovery != nil, let key = recoveredIDs.withLock({ $0[id] }) { return key }
        let prefix = nodeID + "-"
        guard id.hasPrefix(prefix) else { return nil }
        let parts = id.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let raw = UInt64(parts[0], radix: 16) else { return nil }
        let index = parts.count == 2 ? Int(parts[1]) : 0
        guard let index, namespaces.indices.contains(index) else { return nil }
        let key = WsClientKey(connection: WsConnectionID(rawValue: raw), namespace: namespaces[index])
        return id == self.id(of: key.connection, namespace: key.namespace) ? key : nil   // only ids as WsClient writes them
    }

    /// The id of the client `key` names (a recovered one keeps the id it had).
    func clientID(of key: WsClientKey) -> String {
        clientsByKey.withLock { $0[key] }?.id ?? id(of: key.connection, namespace: key.namespace)
    }

    /// A client's id (`WsClient.id`): this instance's id, its connection's, and, after a dot,
    /// the place of its namespace among those served when it is not the first (a Socket.IO
    /// connection has a client per namespace).
    func id(of connection: WsConnectionID, namespace: String) -> String {
        let index = namespaceIndex[namespace] ?? 0
        return nodeID + "-" + connection.description + (index == 0 ? "" : "." + String(index))
    }
}

/// A client of this instance, as the runtime finds it: its connection and its namespace.
struct WsClientKey: Hashable, Sendable {
    let connection: WsConnectionID
    let namespace: String
}

/// Reads a client's text message and dispatches what it reads (the last argument: whether a
/// sync handler may run inline).
typealias WsTextReader = @Sendable (WsGatewayRuntime, WsLoopSlot, UnsafeRawBufferPointer, Bool) -> Void

extension WsGatewayRuntime {
    /// A JSON client's reader: the runtime's dispatch specialised for the JSON codec, so the
    /// message path calls the codec directly, with no protocol witness, and inlines what it can.
    static let readJSON: WsTextReader = { runtime, slot, text, inlineAllowed in
        runtime.dispatch(WsJSONEnvelope.self, slot, text, inlineAllowed: inlineAllowed)
    }
}
