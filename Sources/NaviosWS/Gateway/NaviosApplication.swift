import Logging
import NaviosDI
import ServiceLifecycle
import Synchronization

/// An application: a DI container built from a module, its gateways, and the WebSocket
/// server they run on.
///
/// ```swift
/// let app = try await NaviosApplication.create(AppModule.self)
/// try await app.listen(port: 3000)
/// ```
/// It is also a swift-service-lifecycle `Service`: `run()` serves until graceful shutdown,
/// then closes every client with 1001 and drains.
public final class NaviosApplication: Service, Sendable {
    public let container: Container
    let logger: Logger
    private let config: WsConfig
    private let runtime: WsGatewayRuntime
    private let listening = Mutex<WsEngine?>(nil)

    private init(container: Container, config: WsConfig, runtime: WsGatewayRuntime, logger: Logger) {
        self.container = container
        self.config = config
        self.runtime = runtime
        self.logger = logger
    }

    /// Builds the module's container (async configuration included), then its gateways.
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
        let runtime = WsGatewayRuntime(container: container, gateways: gateways, rateLimit: config.rateLimit,
                                         limits: WsGatewayLimits(config), adapter: config.adapter, logger: logger)
        WsHub.hub(for: container).attach(runtime)
        return NaviosApplication(container: container, config: config, runtime: runtime, logger: logger)
    }

    private static func makeGateway<G: WsGateway>(_ type: G.Type, _ container: Container) throws -> AnyGateway {
        AnyGateway(try container.get(G.self))
    }

    /// Binds and starts serving; returns once the port listens.
    public func listen(port: Int = 3000, host: String = "127.0.0.1") async throws {
        let engine = try WsEngine(configuration: config.engineConfiguration(host: host, port: port), handler: runtime,
                                  logger: logger)
        runtime.attach(engine)
        try engine.start()
        listening.withLock { $0 = engine }
        await config.adapter.start(node: runtime)
        logger.info("navios-ws listening", metadata: ["url": "ws://\(host):\(engine.port)"])
    }

    /// The port listened on, once `listen` returned.
    public var port: Int? { listening.withLock { $0?.port } }

    /// The application's WsService, for code outside the container.
    public var service: WsService { WsService(hub: WsHub.hub(for: container), namespace: nil) }

    /// Closes every client with 1001, waits up to `drain` for them, and stops.
    public func close(drain: Duration = .seconds(5)) async {
        guard let engine = listening.withLock({ $0 }) else { return }
        engine.shutdown(drain: drain)
        await engine.waitUntilStopped()
        await config.adapter.stop()
        WsHub.hub(for: container).attach(nil)
        WsHub.forget(container)
    }

    /// Serves until graceful shutdown (listen first).
    public func run() async throws {
        guard let engine = listening.withLock({ $0 }) else { try await listen(); return try await run() }
        await withGracefulShutdownHandler {
            await engine.waitUntilStopped()
            await config.adapter.stop()
        } onGracefulShutdown: {
            engine.shutdown()
        }
    }
}
