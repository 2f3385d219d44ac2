internal import CNaviosWS
import Logging
import ServiceLifecycle
import Synchronization

/// The low-level WebSocket server: the C core's loops, driven from Swift.
///
/// `run()` makes it a swift-service-lifecycle `Service`: it binds, serves, and on graceful
/// shutdown sends 1001 to every client, waits for the queues to drain, then returns.
/// `start()` and `shutdown()` are the same steps for code that manages its own lifetime
/// (tests, embedding). Handlers are called on the loop threads (see ``WsEngineHandler``).
public final class WsEngine: Service, Sendable {
    public let configuration: WsEngineConfiguration
    let logger: Logger
    let bridge: WsEngineBridge
    // The C server is created in init and freed in deinit; the pointer itself never changes.
    nonisolated(unsafe) let server: OpaquePointer
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        var started = false
        var stopped = false
        var joined = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public init(
        configuration: WsEngineConfiguration = .init(),
        handler: any WsEngineHandler,
        logger: Logger = Logger(label: "navios.ws.engine")
    ) throws(WsCoreError) {
        self.configuration = configuration
        self.logger = logger
        let bridge = WsEngineBridge(handler: handler, configuration: configuration)
        self.bridge = bridge
        var server: OpaquePointer?
        let rc = configuration.withCConfig { config in
            var callbacks = WsEngineBridge.callbacks
            callbacks.ctx = Unmanaged.passUnretained(bridge).toOpaque()
            return nws_server_create(&config, &callbacks, &server)
        }
        try WsCoreError.check(rc)
        self.server = server!
        bridge.engine = self
    }

    deinit {
        // Nothing can be running here without a reference to self held by run(); after a
        // start without run, shutdown and join so the loops never outlive the engine.
        let started = lifecycle.withLock { $0.started && !$0.joined }
        if started {
            nws_server_shutdown(server, 0)
            nws_server_wait(server)
        }
        nws_server_destroy(server)
    }

    /// Binds and starts the loop threads. Throws when the port cannot be bound or the backend
    /// that was asked for cannot be set up.
    public func start() throws(WsCoreError) {
        let already = lifecycle.withLock { state in
            defer { state.started = true }
            return state.started
        }
        if already { return }
        let rc = nws_server_start(server)
        if rc < 0 {
            lifecycle.withLock { $0.stopped = true }
            throw WsCoreError(rc)
        }
        logger.info("listening", metadata: [
            "host": "\(configuration.host)", "port": "\(port)", "backend": "\(backend)",
            "loops": "\(loopThreads)",
        ])
    }

    /// The port listened on (useful when the configuration asked for port 0).
    public var port: Int { Int(nws_server_port(server)) }

    /// The backend in use after `start()`.
    public var backend: WsEngineConfiguration.Backend {
        nws_server_backend(server) == Int32(NWS_BACKEND_EPOLL.rawValue) ? .epoll : .ioUring
    }

    public var loopThreads: Int { Int(nws_server_loop_count(server)) }

    /// Stops accepting, sends 1001 to every client, waits up to `drain` for queues to empty and
    /// peers to answer, then closes what is left. Returns at once; `waitUntilStopped()` waits.
    public func shutdown(drain: Duration = .seconds(5)) {
        let ms = drain.components.seconds * 1000 + drain.components.attoseconds / 1_000_000_000_000_000
        nws_server_shutdown(server, UInt32(clamping: max(0, ms)))
    }

    /// Returns once every loop thread has exited after a shutdown.
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = lifecycle.withLock { state in
                if state.stopped || !state.started { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        let join = lifecycle.withLock { state in
            defer { state.joined = true }
            return state.started && !state.joined
        }
        // The threads have signalled their exit; joining only reaps them.
        if join { nws_server_wait(server) }
    }

    public func run() async throws {
        try start()
        await withGracefulShutdownHandler {
            await waitUntilStopped()
        } onGracefulShutdown: {
            self.shutdown()
        }
        logger.info("stopped", metadata: ["port": "\(port)"])
    }

    func didStop() {
        let waiters = lifecycle.withLock { state in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: sending

    /// Queues one message. From the owning loop thread the outcome is known at once; from
    /// elsewhere the message is posted to that loop, and a stale id is found out there.
    public func send(to id: WsConnectionID, opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer, droppable: Bool = false)
        throws(WsCoreError)
    {
        try WsCoreError.check(rawSend(id, opcode, bytes, droppable))
    }

    @inline(__always)
    func rawSend(_ id: WsConnectionID, _ opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer, _ droppable: Bool) -> Int32 {
        nws_send(server, id.rawValue, opcode.rawValue, bytes.baseAddress, bytes.count,
                 droppable ? UInt32(NWS_SEND_DROPPABLE.rawValue) : 0)
    }

    /// Keeps `object` with the connection, unretained, for `userObject` to return on the
    /// connection's loop thread: a message finds its connection's object without a lookup.
    /// Only on that loop thread (in `onOpen`); the caller keeps the object alive until `onClose`.
    func setUserObject(_ object: AnyObject?, for id: WsConnectionID) {
        _ = nws_conn_set_user(server, id.rawValue, object.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// The object set for the connection, when called on its loop thread.
    @inline(__always)
    func userObject<T: AnyObject>(_ type: T.Type, for id: WsConnectionID) -> T? {
        nws_conn_user(server, id.rawValue).map { Unmanaged<T>.fromOpaque($0).takeUnretainedValue() }
    }

    public func close(_ id: WsConnectionID, code: UInt16 = 1000, reason: String = "") throws(WsCoreError) {
        var reason = reason
        let rc = reason.withUTF8 { nws_close(server, id.rawValue, code, $0.baseAddress, $0.count) }
        try WsCoreError.check(rc)
    }

    /// Queues one message, framed once, to every id; ids of closed connections are skipped.
    /// Returns how many were queued here or posted to other loops.
    @discardableResult
    public func broadcast(_ message: WsPreparedMessage, to ids: [WsConnectionID], droppable: Bool = false) -> Int {
        ids.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UInt64.self) { raw in
                Int(nws_broadcast(server, message.message, raw.baseAddress, raw.count,
                                  droppable ? UInt32(NWS_SEND_DROPPABLE.rawValue) : 0))
            }
        }
    }

    /// Counters summed over the loops.
    public var statistics: WsEngineStatistics {
        var stats = nws_server_stats()
        nws_server_stats_get(server, &stats)
        return WsEngineStatistics(stats)
    }

    /// Runs `body` on the loop thread `loop` (the one way to reach a loop from elsewhere).
    public func post(toLoop loop: Int, _ body: @escaping @Sendable () -> Void) throws(WsCoreError) {
        let box = Unmanaged.passRetained(PostedClosure(body)).toOpaque()
        let rc = nws_loop_post(server, Int32(loop), { arg in
            Unmanaged<PostedClosure>.fromOpaque(arg!).takeRetainedValue().body()
        }, box)
        if rc < 0 {
            Unmanaged<PostedClosure>.fromOpaque(box).release()
            throw WsCoreError(rc)
        }
    }

    /// The loop the calling thread runs, or nil off the loops.
    public var currentLoop: Int? {
        let loop = nws_loop_current(server)
        return loop < 0 ? nil : Int(loop)
    }
}

final class PostedClosure {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// A message framed once, to be sent to many connections (the reference-counted buffer is
/// shared by every send queue it is in).
public final class WsPreparedMessage: Sendable {
    nonisolated(unsafe) let message: OpaquePointer

    public init(opcode: WsOpcode, bytes: UnsafeRawBufferPointer) throws(WsCoreError) {
        guard let m = nws_msg_create(opcode.rawValue, bytes.baseAddress, bytes.count) else { throw .outOfMemory }
        message = m
    }

    public convenience init(text: String) throws(WsCoreError) {
        var text = text
        let result: Result<OpaquePointer, WsCoreError> = text.withUTF8 { bytes in
            guard let m = nws_msg_create(WsOpcode.text.rawValue, bytes.baseAddress, bytes.count) else {
                return .failure(.outOfMemory)
            }
            return .success(m)
        }
        try self.init(taking: result.get())
    }

    private init(taking message: OpaquePointer) { self.message = message }

    deinit { nws_msg_release(message) }
}
