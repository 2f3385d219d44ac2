internal import CNaviosWS
import Logging
import ServiceLifecycle
import Synchronization

/// The low-level WebSocket server: the C core's loops, driven from Swift.
///
/// `run()` is its one lifecycle, a swift-service-lifecycle `Service`: it binds, serves, and
/// when the service group shuts down gracefully or the task running it is cancelled, sends
/// 1001 to every client, lets the queues drain (up to `configuration.shutdownDrain`), stops the
/// loops and returns. Handlers are called on the loop threads (see ``WsEngineHandler``).
public final class WsEngine: Service, Sendable {
    public let configuration: WsEngineConfiguration
    let logger: Logger
    let bridge: WsEngineBridge
    package let core: WsCoreServer
    private let lifecycle = Mutex(Lifecycle())

    private enum Phase {
        case idle, listening(port: Int), stopped
    }

    private struct Lifecycle {
        var phase = Phase.idle
        var failure: WsCoreError?
        var portWaiters: [CheckedContinuation<Int, any Error>] = []
        var loopsStopped = false
        var stopWaiter: CheckedContinuation<Void, Never>?
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
            // Unretained: the engine holds the bridge for as long as the C server lives.
            callbacks.ctx = Unmanaged.passUnretained(bridge).toOpaque()
            return nws_server_create(&config, &callbacks, &server)
        }
        try WsCoreError.check(rc)
        self.core = WsCoreServer(server!)
        bridge.engine = self
    }

    /// The C server, for the calls of the message path.
    var server: OpaquePointer { core.pointer }

    /// Binds, serves until graceful shutdown or cancellation, then closes every client with
    /// 1001, drains, stops the loops and returns. Throws when the port cannot be bound or the
    /// backend asked for cannot be set up; an engine runs once.
    public func run() async throws {
        try bind()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await loopsStopped()
            } onGracefulShutdown: {
                self.beginGracefulShutdown()
            }
        } onCancel: {
            self.beginShutdown()
        }
        nws_server_wait(server)   // the loops have said they are done: this only joins them
        await core.runLeftovers()
        lifecycle.withLock { $0.phase = .stopped }
        logger.info("stopped", metadata: ["host": "\(configuration.host)"])
    }

    /// The port listened on, once `run()` has bound it (it waits for that): the one to
    /// connect to when the configuration asked for port 0. Throws when `run()` could not bind,
    /// or has ended.
    public var listeningPort: Int {
        get async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let now: Result<Int, any Error>? = lifecycle.withLock { state in
                    switch state.phase {
                    case .listening(let port): return .success(port)
                    case .stopped: return .failure(state.failure ?? WsCoreError.closed)
                    case .idle:
                        state.portWaiters.append(continuation)
                        return nil
                    }
                }
                if let now { continuation.resume(with: now) }
            }
        }
    }

    /// The port bound by `run()`, 0 before it has bound (`listeningPort` waits for it).
    package var boundPort: Int { Int(nws_server_port(server)) }

    /// The backend in use once `run()` has bound.
    public var backend: WsEngineConfiguration.Backend {
        nws_server_backend(server) == Int32(NWS_BACKEND_EPOLL.rawValue) ? .epoll : .ioUring
    }

    public var loopThreads: Int { Int(nws_server_loop_count(server)) }

    private func bind() throws(WsCoreError) {
        let first = lifecycle.withLock { state -> Bool in
            guard case .idle = state.phase, state.failure == nil else { return false }
            state.failure = .closed   // taken: a second run() is refused even while this one binds
            return true
        }
        guard first else { throw .closed }
        let rc = nws_server_start(server)
        let port = Int(nws_server_port(server))
        let waiters = lifecycle.withLock { state in
            defer { state.portWaiters.removeAll() }
            if rc < 0 {
                state.failure = WsCoreError(rc)
                state.phase = .stopped
            } else {
                state.failure = nil
                state.phase = .listening(port: port)
            }
            return state.portWaiters
        }
        if rc < 0 {
            for waiter in waiters { waiter.resume(throwing: WsCoreError(rc)) }
            throw WsCoreError(rc)
        }
        for waiter in waiters { waiter.resume(returning: port) }
        logger.info("listening", metadata: [
            "host": "\(configuration.host)", "port": "\(port)", "backend": "\(backend)", "loops": "\(loopThreads)",
        ])
    }

    // MARK: readiness and draining

    /// The application's say on readiness (``WsEngineConfiguration/readyPath``): false while
    /// something it needs is missing (a required adapter link is down). Starts true.
    public func setReady(_ ready: Bool) {
        nws_server_set_ready(server, ready ? 1 : 0)
    }

    /// Ready: set ready, and not draining.
    public var isReady: Bool { nws_server_ready(server) != 0 }

    /// Starts draining without stopping: readiness turns false and new upgrades are refused
    /// with 503 and `Retry-After` (in whole seconds, at least 1); open connections are served
    /// as before. A graceful shutdown with a ``WsEngineConfiguration/drainWindow`` does it
    /// first. Idempotent.
    public func drain(retryAfter: Duration) {
        let seconds = (retryAfter.milliseconds + 999) / 1000
        nws_server_drain(server, max(seconds, 1))
    }

    public var isDraining: Bool { nws_server_draining(server) != 0 }

    /// Graceful shutdown: the drain window first, when there is one, then 1001.
    private func beginGracefulShutdown() {
        let window = configuration.drainWindow
        guard window > .zero else { return beginShutdown() }
        drain(retryAfter: window)
        logger.info("draining", metadata: ["window": "\(window)"])
        bridge.handler.engineDraining(window: window)
        Task { await self.endDrain(after: window) }
    }

    /// Waits out the window (or until no client is left), lets work in flight finish (up to
    /// shutdownDrain), then closes what is left with 1001.
    private func endDrain(after window: Duration) async {
        let end = ContinuousClock.now + window
        while ContinuousClock.now < end, statistics.connectionsOpen > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let handler = bridge.handler
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await handler.engineQuiesce() }
            group.addTask { [limit = configuration.shutdownDrain] in try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
        beginShutdown()
    }

    /// Stops accepting, sends 1001 to every client, and lets the loops stop once their queues
    /// are empty or the drain time is over. Idempotent.
    private func beginShutdown() {
        nws_server_shutdown(server, configuration.shutdownDrain.milliseconds)
    }

    private func loopsStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = lifecycle.withLock { state -> Bool in
                if state.loopsStopped { return true }
                state.stopWaiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// The last loop thread is leaving its loop (the core's on_stopped).
    func didStop() {
        let waiter = lifecycle.withLock { state in
            state.loopsStopped = true
            defer { state.stopWaiter = nil }
            return state.stopWaiter
        }
        waiter?.resume()
    }

    // MARK: sending

    /// Queues one message. From the owning loop thread the outcome is known at once; from
    /// elsewhere the message is posted to that loop, and a stale id is found out there.
    public func send(to id: WsConnectionID, opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer, droppable: Bool = false)
        throws(WsCoreError)
    {
        try WsCoreError.check(core.send(id, opcode, bytes, droppable))
    }

    /// Queues one text message (see above).
    public func send(to id: WsConnectionID, text: String, droppable: Bool = false) throws(WsCoreError) {
        var text = text
        try WsCoreError.check(text.withUTF8 { core.send(id, .text, UnsafeRawBufferPointer($0), droppable) })
    }

    /// Keeps `object` with the connection, unretained, for `userObject` to return on the
    /// connection's loop thread: a message finds its connection's object without a lookup.
    /// Only on that loop thread (in `onOpen`); the caller keeps the object alive until `onClose`.
    package func setUserObject(_ object: AnyObject?, for id: WsConnectionID) {
        _ = nws_conn_set_user(server, id.rawValue, object.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// The pointer kept with the connection (`setUserObject`), unretained, on its loop thread.
    package func userObject(for id: WsConnectionID) -> UnsafeMutableRawPointer? {
        nws_conn_user(server, id.rawValue)
    }

    /// The object set for the connection, when called on its loop thread.
    @inline(__always)
    package func userObject<T: AnyObject>(_ type: T.Type, for id: WsConnectionID) -> T? {
        nws_conn_user(server, id.rawValue).map { Unmanaged<T>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Replaces the TLS certificates (and client CAs) for the connections accepted from now on;
    /// open connections keep the ones they were served. Throws ``WsCoreError/invalidArgument``
    /// when the engine serves no TLS or a certificate does not load (the ones in use stay).
    public func reloadTLS(_ tls: WsEngineConfiguration.TLS) throws(WsCoreError) {
        let rc = withCTLS(tls) { config in
            withUnsafePointer(to: config) { nws_server_tls_reload(server, $0) }
        }
        try WsCoreError.check(rc)
    }

    public func close(_ id: WsConnectionID, code: WsCloseCode = .normalClosure, reason: String = "") throws(WsCoreError) {
        try WsCoreError.check(core.close(id, code, reason))
    }

    /// Queues one message, framed once, to every id; ids of closed connections are skipped.
    /// Returns how many were queued here or posted to other loops.
    @discardableResult
    public func broadcast(_ message: WsPreparedMessage, to ids: [WsConnectionID], droppable: Bool = false) -> Int {
        ids.withUnsafeBufferPointer { buffer in
            // WsConnectionID is one UInt64 (its raw value): the same memory, read as C ids.
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

    /// One loop thread's figures; nil for a loop that does not exist.
    public func loopStatistics(_ loop: Int) -> WsLoopStatistics? {
        var stats = nws_loop_stats()
        guard nws_server_loop_stats(server, Int32(loop), &stats) == 0 else { return nil }
        return WsLoopStatistics(stats)
    }

    /// Runs `body` on the loop thread `loop` (the one way to reach a loop from elsewhere); once
    /// the loops have stopped, on one serial queue, so work for a loop never runs concurrently.
    public func post(toLoop loop: Int, _ body: @escaping @Sendable () -> Void) throws(WsCoreError) {
        guard loop >= 0 && loop < loopThreads else { throw .invalidArgument }
        core.post(toLoop: loop, body)
    }

    /// The loop the calling thread runs, or nil off the loops.
    public var currentLoop: Int? {
        let loop = nws_loop_current(server)
        return loop < 0 ? nil : Int(loop)
    }
}

/// A message framed once, to be sent to many connections (the reference-counted buffer is
/// shared by every send queue it is in).
public final class WsPreparedMessage: Sendable {
    // Never changes, and the C message it names is reference-counted atomically: sharable.
    nonisolated(unsafe) let message: OpaquePointer

    /// `engineIO`: for Engine.IO connections (a text becomes a message packet); a broadcast
    /// reaches only the connections of its kind.
    public init(opcode: WsOpcode, bytes: UnsafeRawBufferPointer, engineIO: Bool = false) throws(WsCoreError) {
        let created = engineIO ? nws_msg_create_engine_io(opcode.rawValue, bytes.baseAddress, bytes.count)
            : nws_msg_create(opcode.rawValue, bytes.baseAddress, bytes.count)
        guard let m = created else { throw .outOfMemory }
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
