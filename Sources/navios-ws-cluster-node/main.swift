// navios-ws-cluster-node — one instance of a cluster behind Redis: what the Redis adapter's
// end-to-end tests (Tests/Cluster) start two or three of.
//   navios-ws-cluster-node --port N --redis HOST:PORT --name NAME [--prefix KEYPREFIX]
//                          [--redis-tls CAFILE]   (TLS to Redis, its certificate checked
//                                                   against CAFILE for the name "localhost")
//                          [--redis-password P] [--redis-db N] [--max-backlog BYTES]
//                          [--drain-window-ms MS] [--adapter-down-limit-ms MS]
//                          [--heartbeat-ms MS] [--loops N]   (the soak's: Benchmarks/soak.py)
// GET /healthz and /readyz answer as the engine's healthPath and readyPath; SIGTERM drains for
// the drain window (reconnect hints, 503 to new upgrades) before 1001. GET /metrics serves
// Prometheus' text format (no token).
// The gateway at ws://127.0.0.1:N/ answers each request below with an ack (`id` set):
//   join/leave ROOM; whoami → the client id
//   send {rooms, except, text, notSelf, volatile} → "msg" {text, from} to the selection
//   fetch {rooms} → ids on every instance; count {rooms}; rooms → room → members
//   kick {rooms, close} → disconnectSockets(close:); pull {rooms, room} → socketsJoin; drop {rooms, room} → socketsLeave
//   tell {id, text} → emit "msg" to that client, wherever it is
//   ask TEXT → serverSideEmitWithAck("ping") answers; stats → the adapter's counters
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Metrics
import NaviosDI
import NaviosWS
import NaviosWSRedis
import Prometheus
import ServiceLifecycle

struct Send: Codable, Sendable {
    var rooms: [String]?
    var except: [String]?
    var text: String
    var notSelf: Bool? = false
    var volatile: Bool? = false
}

struct Message: Codable, Sendable {
    var text: String
    var from: String
}

struct Rooms: Codable, Sendable {
    var rooms: [String]?
    var room: String?
    var close: Bool?
}

struct Tell: Codable, Sendable {
    var id: String
    var text: String
}

struct Stats: Codable, Sendable {
    var linkUp: Bool
    var broadcastsPublished: Int
    var broadcastsDropped: Int
    var broadcastsReceived: Int
    var ignoredMessages: Int
    var reconnects: UInt64
}

extension Stats {
    init(_ stats: RedisWsAdapter.Stats) {
        linkUp = stats.linkUp
        broadcastsPublished = stats.cluster.broadcastsPublished
        broadcastsDropped = stats.cluster.broadcastsDropped
        broadcastsReceived = stats.cluster.broadcastsReceived
        ignoredMessages = stats.cluster.ignoredMessages
        reconnects = stats.reconnects
    }
}

final class ClusterGateway: WsGateway {
    let server = inject(WsServer.self)

    init() {
        let name = nodeName
        server.onServerSideEmit("ping", String.self) { text in "pong from \(name): \(text)" }
    }

    // Built step by step: one long chain of generic closures is too much for the type checker.
    static let gateway: WsGatewayDefinition<ClusterGateway> = {
        var definition = WsGatewayDefinition<ClusterGateway>(path: "/")
        definition = definition.onMessage("whoami", WsNoResponse.self) { _, params -> String in params.client.id }
        definition = definition.onMessage("join", String.self) { _, params -> Bool in try params.client.join(params.payload); return true }
        definition = definition.onMessage("leave", String.self) { _, params -> Bool in params.client.leave(params.payload); return true }
        definition = definition.onMessage("send", Send.self) { gateway, params -> Bool in
            let send = params.payload
            var selection = send.notSelf == true ? params.client.broadcast : gateway.server.except()
            selection = selection.to(send.rooms ?? []).except(send.except ?? [])
            if send.volatile == true { selection = selection.volatile }
            selection.emit("msg", Message(text: send.text, from: nodeName))
            return true
        }
        definition = definition.onMessage("fetch", Rooms.self) { gateway, params async throws -> [String] in
            try await gateway.server.to(params.payload.rooms ?? []).fetchSockets().map(\.id).sorted()
        }
        definition = definition.onMessage("count", Rooms.self) { gateway, params async throws -> Int in
            try await gateway.server.to(params.payload.rooms ?? []).socketsCount()
        }
        definition = definition.onMessage("rooms", WsNoResponse.self) { gateway, _ async throws -> [String: Int] in try await gateway.server.fetchRooms() }
        definition = definition.onMessage("kick", Rooms.self) { gateway, params -> Bool in
            gateway.server.to(params.payload.rooms ?? []).disconnectSockets(close: params.payload.close ?? false)
            return true
        }
        definition = definition.onMessage("pull", Rooms.self) { gateway, params -> Bool in
            gateway.server.to(params.payload.rooms ?? []).socketsJoin(params.payload.room ?? "pulled")
            return true
        }
        definition = definition.onMessage("drop", Rooms.self) { gateway, params -> Bool in
            gateway.server.to(params.payload.rooms ?? []).socketsLeave(params.payload.room ?? "pulled")
            return true
        }
        definition = definition.onMessage("tell", Tell.self) { gateway, params async throws -> Bool in
            let target = try await gateway.server.fetchSockets().first { $0.id == params.payload.id }
            target?.emit("msg", Message(text: params.payload.text, from: nodeName))
            return target != nil
        }
        definition = definition.onMessage("ask", String.self) { gateway, params async throws -> [String] in
            try await gateway.server.serverSideEmitWithAck("ping", params.payload, as: String.self, timeout: .seconds(3)).sorted()
        }
        definition = definition.onMessage("stats", WsNoResponse.self) { _, _ -> Stats in Stats(adapter.stats) }
        return definition
    }()
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let metricsRegistry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(WsMetrics.prometheusFactory(metricsRegistry))
var redisAddress = "127.0.0.1:6379"
var redisTLS: RedisWsAdapter.TLS?
var redisPassword: String?
var redisDB = 0
var maxBacklog = 1 << 20
var clusterPort = 0
var keyPrefix = "navios-ws"
var name = "node"
var drainWindow = Duration.zero
var adapterDownLimit: Duration?
var heartbeat: WsEngineConfiguration.Heartbeat?
var loops = 2
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--port": clusterPort = Int(value) ?? 0
    case "--name": name = value
    case "--prefix": keyPrefix = value
    case "--redis": redisAddress = value
    case "--redis-password": redisPassword = value
    case "--redis-db": redisDB = Int(value) ?? 0
    case "--max-backlog": maxBacklog = Int(value) ?? maxBacklog
    case "--drain-window-ms": drainWindow = .milliseconds(Int(value) ?? 0)
    case "--adapter-down-limit-ms": adapterDownLimit = .milliseconds(Int(value) ?? 0)
    case "--heartbeat-ms": heartbeat = .init(interval: .milliseconds(Int(value) ?? 30_000), timeout: .seconds(10))
    case "--loops": loops = Int(value) ?? loops
    case "--redis-tls": redisTLS = RedisWsAdapter.TLS(caFile: value, serverName: "localhost")
    default: fatalError("unknown flag \(flag)")
    }
}

let nodeName = name
let adapter = RedisWsAdapter(address: redisAddress, password: redisPassword, db: redisDB, tls: redisTLS,
                             keyPrefix: keyPrefix)
let ClusterConfigToken = provideWsService({
    var config = WsConfig(port: clusterPort, heartbeat: heartbeat, maxBacklog: maxBacklog, loopThreads: loops,
                          adapter: adapter)
    config.healthPath = "/healthz"
    config.readyPath = "/readyz"
    config.drainWindow = drainWindow
    config.adapterDownLimit = adapterDownLimit
    config.metrics = .prometheus(metricsRegistry)
    return config
}())

final class ClusterModule: Module {
    static var providers: [Provider] { [.token(ClusterConfigToken), .type(ClusterGateway.self)] }
}

let logger = Logger(label: "navios-ws-cluster-node")
do {
    let app = try await NaviosApplication.create(ClusterModule.self, logger: logger)
    try await ServiceGroup(services: [app, ReadyLine(app: app)], gracefulShutdownSignals: [.sigterm, .sigint],
                           logger: logger).run()
} catch {
    logger.error("stopped", metadata: ["error": "\(error)"])
    exit(1)
}

/// Prints the ready line once the application listens (the tests wait for it).
struct ReadyLine: Service {
    let app: NaviosApplication
    func run() async throws {
        print("navios-ws-cluster-node \(nodeName) listening on ws://127.0.0.1:\(try await app.listeningPort)/")
        fflush(nil)
        try? await gracefulShutdown()
    }
}
