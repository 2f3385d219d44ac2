// navios-ws-gateway-echo — one gateway, one typed event whose handler returns its payload:
// what `make bench` measures of the gateway path next to the raw C echo.
//   navios-ws-gateway-echo [--port N] [--loops N] [--backend auto|epoll|io_uring] [--redis HOST:PORT]
//       [--socketio on] [--deflate shared|dedicated [--deflate-window-bits N] [--deflate-mem-level N]
//       [--deflate-level N]] [--metrics on]
// Clients send {"event":"echo","data":{"text":"..."},"id":1} to ws://HOST:PORT/ and get
// {"event":"echo","data":{"text":"..."},"ack":1} back. For room fan-out, {"event":"join",
// "data":"ROOM"} joins a room and {"event":"publish","data":{"room":"ROOM","text":"..."}}
// sends {"event":"message","data":{"text":"..."}} to every member, the publisher included;
// with --redis, to the members on every instance that uses the same Redis. With --socketio on,
// the same gateway also speaks Socket.IO at /socket.io/ (namespace "/"): 42N["echo",{"text":
// "..."}] is answered 43N[{"text":"..."}], by the same handler. With --metrics on, the
// application records metrics (Prometheus, GET /metrics): what they cost per message.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import Metrics
import NaviosDI
import NaviosWS
import NaviosWSRedis
import Prometheus
import ServiceLifecycle
import Synchronization

/// The payloads have generated JSON codecs (@WsJSONCodable): the message path reads and writes
/// them without going through Codable's containers.
@WsJSONCodable
struct EchoText: Codable, Sendable {
    var text: String
}

@WsJSONCodable
struct Publish: Codable, Sendable {
    var room: String
    var text: String
}

let echo = wsBuilder().declareWsEvent(event: "echo", payload: EchoText.self, response: EchoText.self)

final class EchoGateway: WsGateway {
    let server = inject(WsServer.self)
    init() {}
    static let gateway = WsGatewayDefinition<EchoGateway>(
        path: "/", protocols: benchOptions.socketIO ? [.json, .socketIO] : [.json])
        .onMessage(echo) { _, params in params.payload }
        .onMessage("join", String.self) { _, params in try params.client.join(params.payload) }
        .onMessage("publish", Publish.self) { gateway, params in
            gateway.server.to(params.payload.room).emit("message", EchoText(text: params.payload.text))
        }
}

final class BenchModule: Module {
    static var providers: [Provider] { [.token(BenchConfigToken), .type(EchoGateway.self)] }
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }   // before any Logger exists
let benchOptions: (config: WsConfig, socketIO: Bool) = {
    var config = WsConfig(port: 9002, maxPayload: 16 << 20)
    var socketIO = false
    var arguments = CommandLine.arguments.dropFirst()
    while let flag = arguments.popFirst(), let value = arguments.popFirst() {
        switch flag {
        case "--socketio": socketIO = value == "on"
        case "--port": config.port = Int(value) ?? config.port
        case "--loops": config.loopThreads = Int(value) ?? 0
        case "--backend": config.backend = value == "epoll" ? .epoll : value == "io_uring" ? .ioUring : .auto
        case "--redis": config.adapter = RedisWsAdapter(address: value)
        case "--deflate":
            guard value == "shared" || value == "dedicated" else { fatalError("--deflate takes shared or dedicated") }
            config.deflate = WsEngineConfiguration.Deflate(mode: value == "shared" ? .shared : .dedicated)
        case "--deflate-window-bits": config.deflate?.windowBits = Int(value) ?? 15
        case "--deflate-mem-level": config.deflate?.memoryLevel = Int(value) ?? 8
        case "--deflate-level": config.deflate?.level = Int(value) ?? 1
        case "--metrics":
            guard value == "on" else { break }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(WsMetrics.prometheusFactory(registry))
            config.metrics = .prometheus(registry)
        default: fatalError("unknown flag \(flag)")
        }
    }
    return (config, socketIO)
}()
let BenchConfigToken = provideWsService(benchOptions.config)

let logger = Logger(label: "navios-ws-gateway-echo")

/// The server runs in a detached task while the main thread waits on a semaphore: a
/// synchronous main, not an async one, so that the process also runs under valgrind (callgrind
/// counts the instructions per message), whose 3.19 release faults on the `sigsuspend` an async
/// main parks its main thread in. Detached: a task started from top-level code would wait for
/// the main actor, whose thread is the one waiting here.
func serve(logger: Logger) async throws {
    let app = try await NaviosApplication.create(BenchModule.self, logger: logger)
    try await ServiceGroup(services: [app, ReadyLine(app: app)], gracefulShutdownSignals: [.sigterm, .sigint],
                           logger: logger).run()
}

/// Prints the ready line once the application listens (the harness and tests wait for it).
struct ReadyLine: Service {
    let app: NaviosApplication
    func run() async throws {
        print("navios-ws-gateway-echo listening on ws://127.0.0.1:\(try await app.listeningPort)/")
        fflush(nil)
        try? await gracefulShutdown()
    }
}

let finished = DispatchSemaphore(value: 0)
let outcome = Mutex<(any Error)?>(nil)
Task.detached { [logger] in
    do { try await serve(logger: logger) } catch { outcome.withLock { $0 = error } }
    finished.signal()
}
finished.wait()
if let failure = outcome.withLock({ $0 }) {
    logger.error("stopped", metadata: ["error": "\(failure)"])
    exit(1)
}
