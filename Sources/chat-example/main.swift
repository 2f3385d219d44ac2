// chat-example — the spec's chat gateway as a runnable server with a browser page.
//
//   swift run -c release chat-example [--port 3000] [--host 127.0.0.1] [--rate N] [--redis HOST:PORT]
//                                     [--socketio-client socket.io.min.js] [--tls-cert FILE --tls-key FILE]
//                                     [--deflate shared|dedicated] [--drain-window-ms MS]
//                                     [--session-lifetime-ms MS] [--session-grace-ms MS] [--metrics-token T]
//                                     [--metrics-port N]
//                                     [--admin-token T]
// With --tls-cert and --tls-key the page is https:// and the gateways wss:// (`make run TLS=1`
// makes a local CA and a certificate for localhost; SIGHUP reloads them).
// With --redis, instances on different ports share rooms and broadcasts (make run-cluster).
// Open http://127.0.0.1:3000/ in two browser windows (tokens: alice-token, bob-token,
// carol-token). The gateway is at ws://HOST:PORT/ws/chat, the guarded one at /ws/protected;
// Socket.IO clients connect to namespace /chat at http://HOST:PORT/socket.io/. With
// --socketio-client, the page can connect with the official Socket.IO client (that file, served
// at /socket.io.min.js; `make run` fetches it). Connection state recovery is on.
// GET /healthz and /readyz are answered by the core. SIGTERM drains for --drain-window-ms
// (5,000): /readyz turns 503, new clients get 503, every client is sent `reconnect_hint`, and
// the connections are closed spread over the window. With --redis, /readyz also turns 503 after
// the Redis link has been down for 5 s.
// GET /metrics serves Prometheus' text format to `Authorization: Bearer T` or `?token=T`
// (--metrics-token, or a random token printed at start), on a port of its own with
// --metrics-port N (0: any free one). GET /admin?token=T is the admin view
// (--admin-token, or a random token printed at start).
// A token admits a client of /protected for --session-lifetime-ms (15 min); then it is sent
// `session_expiring` and has --session-grace-ms (30 s) to send `session_refresh` {"token": T}
// for the same user, or it is closed with 1008.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Metrics
import NaviosWS
import NaviosWSRedis
import ServiceLifecycle

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }   // before any Logger exists
MetricsSystem.bootstrap(WsMetrics.prometheusFactory(metricsRegistry))   // before any metric exists
let config = exampleConfig

/// The example's configuration: heartbeat, the page, and what the flags ask for.
func chatConfig(from commandLine: [String]) -> WsConfig {
    var config = WsConfig(heartbeat: .init(interval: .seconds(30), timeout: .seconds(10)))
    config.connectionStateRecovery = WsConnectionStateRecovery()
    config.healthPath = "/healthz"
    config.readyPath = "/readyz"
    config.drainWindow = .seconds(5)
    // GET /metrics with the token (--metrics-token, or a random one printed at start).
    var metricsToken = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    var metricsPort: Int?
    // GET /admin with its own token (--admin-token, or a random one printed at start).
    var adminToken = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    var pages = [WsPage(path: "/", contentType: "text/html; charset=utf-8", body: Array(indexPage.utf8))]
    var tlsFiles: (chain: String?, key: String?) = (nil, nil)
    var arguments = commandLine.dropFirst()
    while let flag = arguments.popFirst() {
        if flag == "--help" || flag == "-h" {
            print(usage)
            exit(0)
        }
        guard let value = arguments.popFirst() else { refuse("\(flag) needs a value") }
        switch flag {
        case "--port": config.port = Int(value) ?? config.port
        case "--host": config.host = value
        case "--rate":
            // Messages per second per client, burst of the same size; 3 violations close with 1008.
            let rate = Double(value) ?? 10
            config.rateLimit = WsRateLimit(messagesPerSecond: rate, burst: rate, maxViolations: 3)
        case "--deflate":
            guard value == "shared" || value == "dedicated" else { refuse("--deflate takes shared or dedicated") }
            config.deflate = WsEngineConfiguration.Deflate(mode: value == "shared" ? .shared : .dedicated)
        case "--tls-cert": tlsFiles.chain = value
        case "--tls-key": tlsFiles.key = value
        case "--redis":
            config.adapter = RedisWsAdapter(address: value, keyPrefix: "chat-example")
            config.adapterDownLimit = .seconds(5)
        case "--drain-window-ms": config.drainWindow = .milliseconds(Int(value) ?? 5_000)
        case "--session-grace-ms": config.sessionGrace = .milliseconds(Int(value) ?? 30_000)
        case "--session-lifetime-ms": continue   // the guard's (tokenLifetime)
        case "--metrics-token": metricsToken = value
        case "--metrics-port": metricsPort = Int(value)
        case "--admin-token": adminToken = value
        case "--socketio-client":
            guard let script = FileManager.default.contents(atPath: value) else { refuse("cannot read \(value)") }
            pages.append(WsPage(path: "/socket.io.min.js", contentType: "text/javascript", body: Array(script)))
        default: refuse("unknown flag \(flag)")
        }
    }
    config.pages = pages
    config.metrics = .prometheus(metricsRegistry, token: metricsToken, port: metricsPort)
    config.admin = WsAdmin(token: adminToken)
    if let chain = tlsFiles.chain, let key = tlsFiles.key {
        config.tls = WsEngineConfiguration.TLS(certificates: [.init(.files(chain: chain, key: key))])
    }
    return config
}

let logger = Logger(label: "chat-example")
do {
    let app = try await NaviosApplication.create(AppModule.self, logger: logger)
    var services: [any Service] = [app, ReadyLine(app: app, host: config.host, secure: config.tls != nil)]
    if let tls = config.tls { services.append(WsCertificateReloadService(logger: logger) { try app.reloadTLS(tls) }) }
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
} catch {
    logger.error("chat-example failed: \(error)")
    exit(1)
}

/// Prints the URL once the application listens and signals are handled (tests wait for this
/// line, then may signal).
struct ReadyLine: Service {
    let app: NaviosApplication
    let host: String
    let secure: Bool
    func run() async throws {
        let port = try await app.listeningPort
        let base = "\(secure ? "https" : "http")://\(host):\(port)"
        print("chat-example listening on \(base)/")
        print("  liveness \(base)/healthz, readiness \(base)/readyz")
        if let endpoint = config.metrics?.endpoint, let token = endpoint.token {
            let metricsBase = endpoint.port == nil ? base : "http://\(host):\(try await app.metricsPort ?? 0)"
            print("  metrics \(metricsBase)/metrics?token=\(token)")
        }
        if let admin = config.admin { print("  admin \(base)\(admin.path)?token=\(admin.token)") }
        fflush(nil)
        try? await gracefulShutdown()
    }
}
