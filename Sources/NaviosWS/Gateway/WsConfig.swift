import NaviosDI

/// The application's WebSocket configuration (the spec's `provideWsService({...})`).
public struct WsConfig: Sendable {
    public struct Cors: Sendable {
        /// Origins allowed to open a connection from a browser; empty = any.
        public var origin: [String]
        public init(origin: [String]) { self.origin = origin }
    }

    /// Loopback by default: listening on every interface should be a decision.
    public var host: String = "127.0.0.1"
    /// 3000, the port of the spec's examples; 0 lets the kernel pick one
    /// (``NaviosApplication/listeningPort`` tells which).
    public var port: Int = 3000
    /// 5 s at shutdown for queues to empty and clients to answer 1001 before they are cut.
    public var shutdownDrain: Duration = .seconds(5)
    /// nil = no pings (see WsEngineConfiguration.Heartbeat).
    public var heartbeat: WsEngineConfiguration.Heartbeat?
    public var cors: Cors?
    /// Largest message accepted; 1 MiB: far above chat traffic, far below what hurts.
    public var maxPayload: Int
    /// Queued bytes per client before the backpressure policy applies.
    public var maxBacklog: Int
    public var backpressurePolicy: WsEngineConfiguration.BackpressurePolicy
    /// nil = no rate limit.
    public var rateLimit: WsRateLimit?
    /// 0 = one loop thread per core.
    public var loopThreads: Int
    public var backend: WsEngineConfiguration.Backend
    /// Fixed HTTP resources served beside the gateways (a page at "/", say).
    public var pages: [WsPage] = []
    /// How instances reach each other: alone by default; `RedisWsAdapter` for several.
    public var adapter: any WsAdapter
    /// Rooms one client may be in at once (its namespace's own room not counted); 1,000: far
    /// more than a chat client joins, and a bound on what one client costs the room index.
    /// `join` past it throws ``WsException`` `limit_exceeded`.
    public var maxRoomsPerClient: Int = 1_000
    /// Bytes of UTF-8 in a room name; 256: ids and composite keys fit, a megabyte name does
    /// not. `join` of a longer name throws ``WsException`` `limit_exceeded`.
    public var maxRoomNameBytes: Int = 256
    /// Bytes in an event name as sent; 256, for the same reason. A longer one is answered with
    /// `limit_exceeded`, and error replies echo at most this many bytes of a name.
    public var maxEventNameBytes: Int = 256

    public init(
        host: String = "127.0.0.1", port: Int = 3000,
        heartbeat: WsEngineConfiguration.Heartbeat? = nil, cors: Cors? = nil, maxPayload: Int = 1 << 20,
        maxBacklog: Int = 1 << 20, backpressurePolicy: WsEngineConfiguration.BackpressurePolicy = .close,
        rateLimit: WsRateLimit? = nil, loopThreads: Int = 0, backend: WsEngineConfiguration.Backend = .auto,
        adapter: any WsAdapter = InMemoryWsAdapter()
    ) {
        self.adapter = adapter
        self.host = host
        self.port = port
        self.heartbeat = heartbeat
        self.cors = cors
        self.maxPayload = maxPayload
        self.maxBacklog = maxBacklog
        self.backpressurePolicy = backpressurePolicy
        self.rateLimit = rateLimit
        self.loopThreads = loopThreads
        self.backend = backend
    }

    func engineConfiguration() -> WsEngineConfiguration {
        var c = WsEngineConfiguration()
        c.host = host
        c.port = port
        c.shutdownDrain = shutdownDrain
        c.heartbeat = heartbeat
        c.allowedOrigins = cors.flatMap { $0.origin.isEmpty ? nil : $0.origin }
        c.maxMessageSize = maxPayload
        c.maxBacklog = maxBacklog
        c.backpressurePolicy = backpressurePolicy
        c.loopThreads = loopThreads
        c.backend = backend
        c.pages = pages
        c.maxRoomsPerConnection = WsGatewayLimits(self).roomsPerConnection
        return c
    }
}

/// The token under which the application finds its WebSocket configuration.
public typealias WsConfigToken = InjectionToken<WsConfig>

/// `provideWsService(config)`: a token for a fixed configuration, to list in a module.
public func provideWsService(_ config: WsConfig) -> WsConfigToken {
    InjectionToken("WsConfig", factory: { config })
}

/// `provideWsService { try await loadConfig() }`: a configuration computed asynchronously
/// once, when the application is created.
public func provideWsService(_ load: @escaping @Sendable () async throws -> WsConfig) -> WsConfigToken {
    InjectionToken("WsConfig", asyncFactory: load)
}
