internal import CNaviosWS
#if canImport(Glibc)
import Glibc
#endif

/// The object behind the C callbacks' context pointer: turns each callback into a call on
/// the application's handler. Lives exactly as long as its engine.
///
/// The message path builds no object: the bytes are lent as an `UnsafeRawBufferPointer` and
/// the connection is a value; only open (once per connection) allocates, for the request.
final class WsEngineBridge: @unchecked Sendable {
    let handler: any WsEngineHandler
    let allowedOrigins: Set<String>?
    /// C strings of the supported subprotocols, alive as long as the bridge (the core keeps
    /// the pointer it is handed for the duration of the upgrade).
    let subprotocols: [(name: String, cString: UnsafeMutablePointer<CChar>)]
    /// The same handler when it takes its connections' objects with each message.
    let userObjectHandler: (any WsUserObjectHandler)?
    // Set once, right after the engine's init, before any loop runs; the engine owns the bridge.
    unowned(unsafe) var engine: WsEngine! {
        didSet { core = Unmanaged.passUnretained(engine.core) }
    }
    /// The engine's C server as the message path lends it to each borrowed connection: through
    /// `engine`, each would count a reference.
    private var core: Unmanaged<WsCoreServer>?

    init(handler: any WsEngineHandler, configuration: WsEngineConfiguration) {
        self.handler = handler
        self.userObjectHandler = handler as? any WsUserObjectHandler
        self.allowedOrigins = configuration.allowedOrigins.map(Set.init)
        self.subprotocols = configuration.subprotocols.map { ($0, strdup($0)!) }
    }

    deinit {
        for entry in subprotocols { free(entry.cString) }
    }

    /// The bridge behind a callback's context: the engine holds it while the C server lives.
    static func from(_ ctx: UnsafeMutableRawPointer?) -> WsEngineBridge {
        Unmanaged<WsEngineBridge>.fromOpaque(ctx!).takeUnretainedValue()
    }

    func connection(_ id: UInt64) -> WsConnection {
        WsConnection(id: WsConnectionID(rawValue: id), server: core.unsafelyUnwrapped)   // set before any loop runs
    }

    // A constant table of function pointers, written once: safe to share.
    nonisolated(unsafe) static let callbacks: nws_server_callbacks = {
        var cb = nws_server_callbacks()
        cb.on_upgrade = { ctx, _, upgrade, protocolOut, protocolLen in
            let bridge = WsEngineBridge.from(ctx)
            let up = upgrade!.pointee
            let path = String(decoding: UnsafeRawBufferPointer(start: up.path, count: up.path_len), as: UTF8.self)
            guard bridge.handler.shouldAccept(path: path) else { return 404 }
            bridge.chooseSubprotocol(up, protocolOut!, protocolLen!)
            return 0
        }
        cb.on_http = { ctx, request, reply in
            let bridge = WsEngineBridge.from(ctx)
            guard let response = bridge.handler.httpRequest(WsUpgradeRequest(plain: request!.pointee)) else { return 0 }
            response.fill(reply!)
            return 1
        }
        cb.check_origin = { ctx, origin, length in
            WsEngineBridge.from(ctx).allows(origin: origin, length: length) ? 1 : 0
        }
        cb.on_open = { ctx, id, info in
            let bridge = WsEngineBridge.from(ctx)
            bridge.handler.onOpen(bridge.connection(id), request: WsUpgradeRequest(info!.pointee))
        }
        cb.on_message = { ctx, id, opcode, data, length, user in
            // The engine keeps the bridge alive while loops run: borrow it, no retain per message.
            Unmanaged<WsEngineBridge>.fromOpaque(ctx!)._withUnsafeGuaranteedRef { bridge in
                let bytes = UnsafeRawBufferPointer(start: data, count: length)
                if opcode != Int32(NWS_OP_TEXT.rawValue) {
                    bridge.handler.onBinary(bridge.connection(id), bytes)
                } else if bridge.userObjectHandler != nil {
                    // Called through the optional, not bound: a binding would retain it.
                    bridge.userObjectHandler?.onText(WsConnectionID(rawValue: id), bytes, userObject: user)
                } else {
                    bridge.handler.onText(bridge.connection(id), bytes)
                }
            }
        }
        cb.on_close = { ctx, id, code, reason, length in
            let bridge = WsEngineBridge.from(ctx)
            let text = reason.map { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
            bridge.handler.onClose(bridge.connection(id), code: WsCloseCode(rawValue: code), reason: text)
        }
        cb.on_room = { ctx, room, length, present in
            let name = String(decoding: UnsafeRawBufferPointer(start: room, count: length), as: UTF8.self)
            WsEngineBridge.from(ctx).handler.onRoom(name, present: present != 0)
        }
        cb.on_stopped = { ctx in
            WsEngineBridge.from(ctx).engine.didStop()
        }
        return cb
    }()

    func allows(origin: UnsafePointer<CChar>?, length: Int) -> Bool {
        guard let allowed = allowedOrigins else { return true }
        guard let origin else { return true }   // not a browser: Origin is a browser's promise
        let text = String(decoding: UnsafeRawBufferPointer(start: origin, count: length), as: UTF8.self)
        return allowed.contains(text)
    }

    func chooseSubprotocol(
        _ upgrade: nws_upgrade,
        _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>,
        _ outLength: UnsafeMutablePointer<Int>
    ) {
        guard !subprotocols.isEmpty, let offered = upgrade.protocols else { return }
        let list = String(decoding: UnsafeRawBufferPointer(start: offered, count: upgrade.protocols_len), as: UTF8.self)
        let names = Set(list.split(separator: ",").map { $0.trimmingWhitespace() })
        for entry in subprotocols where names.contains(entry.name) {
            out.pointee = UnsafePointer(entry.cString)
            outLength.pointee = entry.name.utf8.count
            return
        }
    }
}

extension Substring {
    package func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension WsUpgradeRequest {
    init(_ info: nws_open_info) {
        let upgrade = info.upgrade.pointee
        let request = info.request.pointee
        func text(_ p: UnsafePointer<CChar>?, _ n: Int) -> String {
            guard let p else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
        }
        path = text(upgrade.path, upgrade.path_len)
        query = text(upgrade.query, upgrade.query_len)
        headers = Self.headers(of: request)
        subprotocol = info.protocol.map { text($0, info.protocol_len) }
        engineIO = info.engine_io != 0
        isSecure = info.tls != 0
        tlsPeerSubject = info.tls_peer_subject.map { String(cString: $0) }
    }

    /// A plain GET (no upgrade, ``WsEngineHandler/httpRequest(_:)``): its target split at `?`.
    init(plain request: nws_http_request) {
        let target = String(decoding: UnsafeRawBufferPointer(start: request.target, count: request.target_len), as: UTF8.self)
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        query = parts.count > 1 ? String(parts[1]) : ""
        headers = Self.headers(of: request)
    }

    private static func headers(of request: nws_http_request) -> [(name: String, value: String)] {
        func text(_ p: UnsafePointer<CChar>?, _ n: Int) -> String {
            guard let p else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
        }
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(request.num_headers)
        withUnsafeBytes(of: request.headers) { raw in
            let all = raw.bindMemory(to: nws_http_header.self)   // the C array of the request's headers
            for i in 0..<request.num_headers {
                headers.append((text(all[i].name, all[i].name_len), text(all[i].value, all[i].value_len)))
            }
        }
        return headers
    }
}

/// Counters of the core, summed over its loops.
public struct WsEngineStatistics: Sendable, Equatable {
    public var connectionsOpen: UInt64
    public var connectionsAccepted: UInt64
    public var upgradesRefused: UInt64
    public var handshakeTimeouts: UInt64
    public var messagesIn: UInt64
    public var messagesOut: UInt64
    /// Read from sockets, HTTP requests included (over TLS: its records).
    public var bytesIn: UInt64
    /// Queued to clients as WebSocket frames or long-polling bodies (HTTP heads are not counted).
    public var bytesOut: UInt64
    public var protocolErrors: UInt64
    public var heartbeatTimeouts: UInt64
    public var idleTimeouts: UInt64
    public var droppedMessages: UInt64
    public var backpressureCloses: UInt64
    public var queuedBytes: UInt64
    /// Broadcast copies queued, over every fan-out.
    public var deliveries: UInt64
    /// Of `messagesIn`: over Engine.IO.
    public var engineIOMessagesIn: UInt64
    /// Application messages queued to Engine.IO clients (part of `messagesOut`, which also
    /// counts control frames and every plain WebSocket message).
    public var engineIOMessagesOut: UInt64
    /// Of `bytesIn`: Engine.IO's WebSocket connections and its HTTP requests.
    public var engineIOBytesIn: UInt64
    /// Of `bytesOut`: queued to Engine.IO clients.
    public var engineIOBytesOut: UInt64

    init(_ s: nws_server_stats) {
        connectionsOpen = s.connections_open
        connectionsAccepted = s.connections_accepted
        upgradesRefused = s.upgrades_refused
        handshakeTimeouts = s.handshake_timeouts
        messagesIn = s.messages_in
        messagesOut = s.messages_out
        bytesIn = s.bytes_in
        bytesOut = s.bytes_out
        protocolErrors = s.protocol_errors
        heartbeatTimeouts = s.heartbeat_timeouts
        idleTimeouts = s.idle_timeouts
        droppedMessages = s.dropped_messages
        backpressureCloses = s.backpressure_closes
        queuedBytes = s.queued_bytes
        deliveries = s.deliveries
        engineIOMessagesIn = s.eio_messages_in
        engineIOMessagesOut = s.eio_messages_out
        engineIOBytesIn = s.eio_bytes_in
        engineIOBytesOut = s.eio_bytes_out
    }
}

/// One loop thread's figures (``WsEngine/loopStatistics(_:)``).
public struct WsLoopStatistics: Sendable, Equatable {
    /// Passes through the loop: a wake, its work, its flush.
    public var iterations: UInt64
    /// Time from each wake to the end of its work, summed: busy time.
    public var busy: Duration
    /// Tasks posted from other threads and not run yet.
    public var inboxDepth: UInt64
    public var connectionsOpen: UInt64

    init(_ s: nws_loop_stats) {
        iterations = s.iterations
        busy = .nanoseconds(Int64(clamping: s.busy_ns))
        inboxDepth = s.inbox_depth
        connectionsOpen = s.connections_open
    }
}
