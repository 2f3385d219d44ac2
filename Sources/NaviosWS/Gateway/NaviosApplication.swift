import Logging
import NaviosDI
import ServiceLifecycle
import Synchronization

/// An application: a DI container built from a module, its gateways, and the WebSocket
/// server they run on.
///
/// ```swift
/// let app = try await NaviosApplication.create(AppModule.self)
/// try await app.run()                    // or in a ServiceGroup with other services
/// ```
/// `run()` is its one lifecycle, a swift-service-lifecycle `Service`: it serves on the
/// configuration's host and port until the group shuts down gracefully or the task running it
/// is cancelled, then closes every client with 1001, drains and returns.
public final class NaviosApplication: Service, Sendable {
    public let container: Container
    let logger: Logger
    private let config: WsConfig
    private let runtime: WsGatewayRuntime
    private let engine: WsEngine
    /// The engine of a separate metrics port (``WsMetrics/Endpoint/port``), when there is one.
    private let metricsEngine: WsEngine?

    private init(container: Container, config: WsConfig, runtime: WsGatewayRuntime, engine: WsEngine,
                 metricsEngine: WsEngine?, logger: Logger) {
        self.container = container
        self.config = config
        self.runtime = runtime
        self.engine = engine
        self.metricsEngine = metricsEngine
        self.logger = logger
    }

    /// Builds the module's container (async configuration included), then its gateways and
    /// the server they will run on (nothing is bound until `run()`).
    public static func create(_ module: any Module.Type, logger: Logger = Logger(label: "navios.ws")) async throws
        -> NaviosApplication
    {
        let container = try await Container.create(module)
        let tokens = container.listedTokens.compactMap { $0 as? WsConfigToken }
        let config = try tokens.last.map { try container.get($0) } ?? WsConfig()
        var gateways: [AnyGateway] = []
        for type in container.providedTypes {
            if let gatewayType = type as? any WsGateway.Type {
                gateways.append(try makeGateway(gatewayType, container))
            }
        }
        if gateways.isEmpty { logger.warning("the module lists no WsGateway: every upgrade will get 404") }
        var engineConfiguration = config.engineConfiguration()
        // Socket.IO clients need Engine.IO: on its default path unless the configuration says.
        if engineConfiguration.engineIO == nil, gateways.contains(where: { $0.protocols.contains(.socketIO) }) {
            engineConfiguration.engineIO = WsEngineConfiguration.EngineIO()
        }
        let metrics = config.metrics.map { _ in WsGatewayMetrics() }
        let runtime = WsGatewayRuntime(container: container, gateways: gateways, rateLimit: config.rateLimit,
                                         limits: WsGatewayLimits(config), adapter: config.adapter,
                                         engineIOPath: engineConfiguration.engineIO?.path,
                                         recovery: config.connectionStateRecovery, metrics: metrics, logger: logger)
        let engine = try WsEngine(configuration: engineConfiguration, handler: runtime, logger: logger)
        runtime.attach(engine)
        var metricsEngine: WsEngine?
        if let metrics, let endpoint = config.metrics?.endpoint {
            let answering = WsMetricsEndpoint(endpoint: endpoint, metrics: metrics, engine: { [weak runtime] in runtime?.engine },
                                              adapter: config.adapter)
            if let port = endpoint.port {
                var own = WsEngineConfiguration()
                own.host = engineConfiguration.host
                own.port = port
                own.loopThreads = 1
                own.backend = engineConfiguration.backend
                metricsEngine = try WsEngine(configuration: own, handler: WsMetricsPortHandler(answering), logger: logger)
            } else {
                runtime.metricsEndpoint = answering
            }
        }
        runtime.admin = config.admin.map(WsAdminConsole.init)
        WsHub.hub(for: container).attach(runtime)
        return NaviosApplication(container: container, config: config, runtime: runtime, engine: engine,
                                 metricsEngine: metricsEngine, logger: logger)
    }

    private static func makeGateway<G: WsGateway>(_ type: G.Type, _ container: Container) throws -> AnyGateway {
        AnyGateway(try container.get(G.self))
    }

    /// Serves until graceful shutdown or cancellation; then 1001 to every client, a drain of
    /// up to `WsConfig.shutdownDrain`, and the adapter stops. Throws when the port cannot be
    /// bound. An application runs once.
    public func run() async throws {
        await config.adapter.start(node: runtime)
        let watcher = config.adapterDownLimit.map { limit in
            Task { [engine, adapter = config.adapter] in await Self.watchLink(of: adapter, limit: limit, engine: engine) }
        }
        // Counters of the core reach swift-metrics backends that nothing scrapes too.
        let collector = config.metrics.map { metrics in
            Task { [runtime, engine, adapter = config.adapter] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: metrics.collectionInterval)
                    runtime.metrics?.collect(engine: engine, adapter: adapter)
                }
            }
        }
        let adminFeed = config.admin.map { admin in
            Task { [runtime] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: admin.interval)
                    runtime.sendAdminSnapshots()
                }
            }
        }
        defer {
            watcher?.cancel()
            collector?.cancel()
            adminFeed?.cancel()
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.engine.run() }
                if let metricsEngine { group.addTask { try await metricsEngine.run() } }
                // The application ends with its main engine; a metrics port stops with it.
                try await group.next()
                group.cancelAll()
                try await group.waitForAll()
            }
        } catch {
            await stopped()
            throw error
        }
        await stopped()
    }

    /// The metrics port (``WsMetrics/Endpoint/port``), once bound; nil when there is none.
    public var metricsPort: Int? {
        get async throws { try await metricsEngine?.listeningPort }
    }

    /// Readiness follows the adapter's link: false once it has been down for `limit`, true
    /// as soon as it is up. Checked every 100 ms (or a tenth of the limit, when shorter).
    private static func watchLink(of adapter: any WsAdapter, limit: Duration, engine: WsEngine) async {
        let period = min(.milliseconds(100), limit / 10)
        var downSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            let now = ContinuousClock.now
            if adapter.linkUp {
                downSince = nil
            } else if downSince == nil {
                downSince = now
            }
            engine.setReady(downSince.map { now - $0 < limit } ?? true)
            try? await Task.sleep(for: period)
        }
    }

    private func stopped() async {
        await config.adapter.stop()
        WsHub.hub(for: container).attach(nil)
        WsHub.forget(container)
    }

    /// New TLS certificates for the connections accepted from now on (open ones keep theirs):
    /// call it when certificates are renewed (on SIGHUP, say). Throws when TLS is off or a
    /// certificate does not load; the ones in use stay.
    public func reloadTLS(_ tls: WsEngineConfiguration.TLS) throws {
        try engine.reloadTLS(tls)
    }

    /// The port listened on, once `run()` has bound it (it waits for that): the one to connect
    /// to when the configuration asked for port 0. Throws when `run()` could not bind or has ended.
    public var listeningPort: Int {
        get async throws { try await engine.listeningPort }
    }

    /// The application's WsService, for code outside the container.
    public var service: WsService { WsService(hub: WsHub.hub(for: container), namespace: nil) }
}
