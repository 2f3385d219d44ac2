// navios-ws-socketio-server — the Socket.IO test server: the server contract of the Socket.IO
// conformance kit (../shared/tools/socketio/README.md), which the official socket.io protocol
// suite, the interop tests and any Socket.IO client can drive. Its gateways speak Socket.IO and
// the JSON protocol at once, so clients of both share its rooms.
//   navios-ws-socketio-server [--port N] [--loops N] [--backend auto|epoll|io_uring]
//       [--eio-path /socket.io/] [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS]
//       [--token T] [--redis HOST:PORT] [--recovery-window MS] [--max-backlog BYTES]
//       [--drain-window MS]
// --drain-window: SIGTERM drains first (reconnect_hint to every client, 503 to new sessions, the
// connections closed over the window).
// --recovery-window turns connection state recovery on (off by default, as the protocol suite
// needs): CONNECT replies carry a pid, broadcasts an offset, and on connection a client is also
// sent `recovered` with whether it was recovered.
// Namespaces: `/` and `/custom` (anyone), `/interop` (CONNECT auth {"token": T}, default
// "s3cret"; others get CONNECT_ERROR {"message":"unauthorized"}). On each, after the CONNECT
// reply, the client is sent `auth` with its CONNECT payload; then, per event:
//   message ...args            -> `message-back` ...args to the sender
//   message-with-ack ...args   -> ack ...args
//   ask-client ...args (ack)   -> emitWithAck `question` ...args to the sender (5 s); ack with
//                                 one argument, the array of the client's ack arguments
//   join ROOM / leave ROOM     -> ack ROOM
//   room-emit ROOM ...x (ack)  -> `room-message` ROOM ...x to the room but the sender; ack true
//   volatile-room-emit ROOM ...x (ack) -> the same, volatile: dropped for a client whose
//                                 backlog is over --max-backlog instead of closing it
//   flood {count, size, volatile} (ack) -> `flood` {n, text} (text of `size` bytes) sent
//                                 `count` times to the sender, volatile or not; ack with how
//                                 many were dropped
//   upload {name, data, bytes} -> typed payload with Data and [UInt8] (binary on Socket.IO):
//                                 both reversed, sent back as its ack, as `uploaded` to the
//                                 sender and as `file` to the room `files`
//   remember NOTE / recall     -> keeps NOTE in the client's data; ack with the note kept (or null)
//   drop-transport             -> the transport closes as a network failure would (clients reconnect)
//   disconnect-me              -> namespace DISCONNECT (clients do not reconnect)
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import NaviosDI
import NaviosWS
import NaviosWSRedis
import ServiceLifecycle
import Synchronization

struct Options {
    var config = WsConfig(port: 3000)
    var engineIO = WsEngineConfiguration.EngineIO()
    var token = "s3cret"

    init(_ arguments: [String]) {
        var arguments = arguments[...]
        while let flag = arguments.popFirst() {
            guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
            switch flag {
            case "--port": config.port = Int(value) ?? config.port
            case "--loops": config.loopThreads = Int(value) ?? 0
            case "--backend": config.backend = value == "epoll" ? .epoll : value == "io_uring" ? .ioUring : .auto
            case "--eio-path": engineIO.path = value
            case "--ping-interval": engineIO.pingInterval = .milliseconds(Int(value) ?? 25_000)
            case "--ping-timeout": engineIO.pingTimeout = .milliseconds(Int(value) ?? 20_000)
            case "--connect-timeout": config.socketIOConnectTimeout = .milliseconds(Int(value) ?? 45_000)
            case "--token": token = value
            case "--recovery-window":
                config.connectionStateRecovery = WsConnectionStateRecovery(
                    maxDisconnectionDuration: .milliseconds(Int(value) ?? 120_000))
            case "--redis": config.adapter = RedisWsAdapter(address: value)
            case "--max-backlog": config.maxBacklog = Int(value) ?? config.maxBacklog
            case "--drain-window": config.drainWindow = .milliseconds(Int(value) ?? 0)
            default: fatalError("unknown flag \(flag)")
            }
        }
        config.engineIO = engineIO
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))

/// The contract's handlers, the same on every namespace.
enum Contract {
    static func definition<G: WsGateway>(_ type: G.Type, namespace: String) -> WsGatewayDefinition<G> {
        WsGatewayDefinition<G>(namespace: namespace, protocols: [.socketIO, .json])
            .onConnection { _, client in
                client.emit("auth", client.handshake.auth)
                if options.config.connectionStateRecovery != nil { client.emit("recovered", client.recovered) }
            }
            .onMessage("message", WsArguments.self) { _, params in params.client.emit("message-back", params.payload) }
            .onMessage("message-with-ack", WsArguments.self) { _, params in params.payload }
            .onMessage("ask-client", WsArguments.self) { _, params async throws -> WsArguments in
                let answer = try await params.client.emitWithAck(
                    "question", params.payload, as: WsArguments.self, timeout: .seconds(5))
                return WsArguments(json: Array("[".utf8) + answer.json + Array("]".utf8), attachments: answer.attachments)!
            }
            .onMessage("join", String.self) { _, params in
                try params.client.join(params.payload)
                return params.payload
            }
            .onMessage("leave", String.self) { _, params in
                params.client.leave(params.payload)
                return params.payload
            }
            .onMessage("room-emit", WsArguments.self) { _, params in
                try params.client.to(room(params.payload)).emit("room-message", params.payload)
                return true
            }
            .onMessage("volatile-room-emit", WsArguments.self) { _, params in
                try params.client.to(room(params.payload)).volatile.emit("room-message", params.payload)
                return true
            }
            .onMessage("flood", Flood.self) { _, params in
                let flood = params.payload, client = params.client
                let text = String(repeating: "x", count: flood.size)
                var dropped = 0
                for n in 0..<flood.count {
                    let item = FloodItem(n: n, text: text)
                    let result = flood.volatile ? client.volatile.emit("flood", item) : client.emit("flood", item)
                    if result == .dropped { dropped += 1 }
                }
                return dropped
            }
            .onMessage("upload", Upload.self) { _, params in
                let reversed = Upload(name: params.payload.name, data: Data(params.payload.data.reversed()),
                                      bytes: params.payload.bytes.reversed())
                params.client.emit("uploaded", reversed)
                params.client.to("files").emit("file", reversed)
                return reversed
            }
            .onMessage("remember", String.self) { _, params in params.client.data["note"] = params.payload }
            .onMessage("recall", WsNoResponse.self) { _, params in params.client.data.get("note", as: String.self) }
            .onMessage("drop-transport", WsNoResponse.self) { _, params in params.client.dropTransport() }
            .onMessage("disconnect-me", WsNoResponse.self) { _, params in params.client.disconnect() }
    }

    /// The room a room emit names in its first argument.
    private static func room(_ arguments: WsArguments) throws -> String {
        guard let room = arguments.decode(String.self, at: 0) else {
            throw WsException(.invalidPayload, "the first argument is the room")
        }
        return room
    }
}

struct Flood: Codable, Sendable {
    var count: Int
    var size: Int
    var volatile: Bool
}

struct FloodItem: Codable, Sendable {
    var n: Int
    var text: String
}

/// A typed payload with binary values.
struct Upload: Codable, Sendable {
    var name: String
    var data: Data
    var bytes: [UInt8]
}

final class MainGateway: WsGateway {
    init() {}
    static let gateway = Contract.definition(MainGateway.self, namespace: "/")
}

final class CustomGateway: WsGateway {
    init() {}
    static let gateway = Contract.definition(CustomGateway.self, namespace: "/custom")
}

/// `/interop` asks for a token in the CONNECT's auth.
final class TokenGuard: WsGuard {
    init() {}
    func canActivate(_ context: WsExecutionContext) async throws -> Bool {
        context.client.handshake.auth["token"] == .string(options.token)
    }
}

final class InteropGateway: WsGateway {
    init() {}
    static let gateway = Contract.definition(InteropGateway.self, namespace: "/interop").guarded(by: TokenGuard.self)
}

let ConfigToken = provideWsService(options.config)

final class ContractModule: Module {
    static var providers: [Provider] {
        [.token(ConfigToken), .type(TokenGuard.self), .type(MainGateway.self), .type(CustomGateway.self),
         .type(InteropGateway.self)]
    }
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "navios-ws-socketio-server")

/// Prints the ready line once the application listens (tests wait for it).
struct ReadyLine: Service {
    let app: NaviosApplication
    func run() async throws {
        print("navios-ws-socketio-server listening on http://127.0.0.1:\(try await app.listeningPort)\(options.engineIO.path)")
        fflush(nil)
        try? await gracefulShutdown()
    }
}

// A synchronous main waiting on a semaphore, as navios-ws-gateway-echo's (it runs under
// valgrind too).
let finished = DispatchSemaphore(value: 0)
let outcome = Mutex<(any Error)?>(nil)
Task.detached {
    do {
        let app = try await NaviosApplication.create(ContractModule.self, logger: logger)
        try await ServiceGroup(services: [app, ReadyLine(app: app)], gracefulShutdownSignals: [.sigterm, .sigint],
                               logger: logger).run()
    } catch {
        outcome.withLock { $0 = error }
    }
    finished.signal()
}
finished.wait()
if let failure = outcome.withLock({ $0 }) {
    logger.error("stopped", metadata: ["error": "\(failure)"])
    exit(1)
}
