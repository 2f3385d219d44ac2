import NaviosDI

/// The application's WebSocket configuration (the spec's `provideWsService({...})`): the
/// engine's settings (``engine``, where every transport default is set and explained, once)
/// and what only a gateway application has: rate limits, the adapter, room and name limits.
/// The spec's names (`port`, `cors`, `maxPayload`, ...) read and write the engine's settings.
@dynamicMemberLookup
public struct WsConfig: Sendable {
    public struct Cors: Sendable {
        /// Origins allowed to open a connection from a browser; empty = any.
        public var origin: [String]
        public init(origin: [String]) { self.origin = origin }
    }

    /// Every transport setting, health path, subprotocols and timeouts included.
    public var engine = WsEngineConfiguration()
    /// nil = no rate limit.
    public var rateLimit: WsRateLimit?
    /// How instances reach each other: alone by default; `RedisWsAdapter` for several.
    public var adapter: any WsAdapter
    /// Rooms one client may be in at once (its namespace's own room not counted); 1,000: far
    /// more than a chat client joins, and a bound on what one client costs the room index.
    /// `join` past it throws ``WsException`` `limit_exceeded`. It sets the engine's
    /// `maxRoomsPerConnection` (one more, for the namespace's room).
    public var maxRoomsPerClient: Int = 1_000
    /// Bytes of UTF-8 in a room name; 256: ids and composite keys fit, a megabyte name does
    /// not. `join` of a longer name throws ``WsException`` `limit_exceeded`.
    public var maxRoomNameBytes: Int = 256
    /// Bytes in an event name as sent; 256, for the same reason. A longer one is answered with
    /// `limit_exceeded`, and error replies echo at most this many bytes of a name.
    public var maxEventNameBytes: Int = 256
    /// How long a Socket.IO connection may stay without a namespace joined (no CONNECT, or
    /// every CONNECT refused) before it is closed; 45 s, Socket.IO's `connectTimeout`.
    public var socketIOConnectTimeout: Duration = .seconds(45)
    /// Connection state recovery (``WsConnectionStateRecovery``); nil (off) by default: it keeps
    /// every broadcast for a while.
    public var connectionStateRecovery: WsConnectionStateRecovery?
    /// Metrics through swift-metrics, and a Prometheus endpoint (``WsMetrics``); nil (off) by
    /// default.
    public var metrics: WsMetrics?
    /// The admin view (``WsAdmin``); nil (off) by default.
    public var admin: WsAdmin?
    /// How long a client whose session ran out (``WsSessionGuard``) has to send
    /// `session_refresh` before it is closed with 1008; 30 s: a token round trip to an auth
    /// service fits, and an abandoned client does not stay long.
    public var sessionGrace: Duration = .seconds(30)
    /// Readiness (``WsEngineConfiguration/readyPath``) turns false once the adapter's link
    /// (Redis) has been down this long, and true again when it is back: a load balancer then
    /// sends new clients to instances whose broadcasts reach the others. nil (the default):
    /// readiness ignores the link, whose outage loses only cross-instance traffic.
    public var adapterDownLimit: Duration?

    /// The spec's options; those left nil keep the engine's defaults. `port` is 3000, the port
    /// of the spec's examples (0 lets the kernel pick one: ``NaviosApplication/listeningPort``).
    public init(
        host: String? = nil, port: Int = 3000,
        heartbeat: WsEngineConfiguration.Heartbeat? = nil, cors: Cors? = nil, maxPayload: Int? = nil,
        maxBacklog: Int? = nil, backpressurePolicy: WsEngineConfiguration.BackpressurePolicy? = nil,
        rateLimit: WsRateLimit? = nil, loopThreads: Int? = nil, backend: WsEngineConfiguration.Backend? = nil,
        adapter: any WsAdapter = InMemoryWsAdapter()
    ) {
        self.adapter = adapter
        self.rateLimit = rateLimit
        self.port = port
        self.heartbeat = heartbeat
        self.cors = cors
        if let host { self.host = host }
        if let maxPayload { self.maxPayload = maxPayload }
        if let maxBacklog { self.maxBacklog = maxBacklog }
        if let backpressurePolicy { self.backpressurePolicy = backpressurePolicy }
        if let loopThreads { self.loopThreads = loopThreads }
        if let backend { self.backend = backend }
    }

    // MARK: the engine's settings, by their names or the spec's

    /// Every setting of ``engine`` reads and writes as the configuration's own
    /// (`config.port`, `config.healthPath`, `config.handshakeTimeout`...).
    public subscript<T>(dynamicMember setting: WritableKeyPath<WsEngineConfiguration, T>) -> T {
        get { engine[keyPath: setting] }
        set { engine[keyPath: setting] = newValue }
    }

    /// The origins a browser may connect from (``WsEngineConfiguration/allowedOrigins``).
    public var cors: Cors? {
        get { engine.allowedOrigins.map(Cors.init) }
        set { engine.allowedOrigins = newValue.flatMap { $0.origin.isEmpty ? nil : $0.origin } }
    }
    /// The largest message accepted (``WsEngineConfiguration/maxMessageSize``).
    public var maxPayload: Int {
        get { engine.maxMessageSize }
        set { engine.maxMessageSize = newValue }
    }

    /// What the engine is given: its settings, and the room bound the gateway's limit implies.
    func engineConfiguration() -> WsEngineConfiguration {
        var c = engine
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
