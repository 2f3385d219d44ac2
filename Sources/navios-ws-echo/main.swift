// navios-ws-echo — echoes every text and binary message back to its sender.
//
// It is the server the interop tests, the Autobahn|Testsuite and the benchmarks talk to.
//   swift run -c release navios-ws-echo --port 9001 [--loops N] [--backend auto|epoll|io_uring]
//                                       [--max-message BYTES] [--host ADDR] [--max-backlog BYTES]
//                                       [--handshake-timeout MS] [--close-timeout MS] [--idle-timeout MS]
//                                       [--ping-interval MS] [--pong-timeout MS]
//                                       [--eio-path PATH] [--eio-ping-interval MS] [--eio-ping-timeout MS]
//                                       [--deflate shared|dedicated] [--deflate-threshold BYTES]
//                                       [--deflate-level 1-9] [--deflate-window-bits 8-15] [--deflate-mem-level 1-9]
//                                       [--tls-cert FILE --tls-key FILE [--tls-sni NAME:CERT:KEY]... [--tls-client-ca FILE]]
//                                       [--room NAME]
// With --room, every client joins room NAME and each message is broadcast to the room instead
// of echoed (a room fan-out, as Tests/Interop/test_deflate_fanout.py drives it).
// With --tls-client-ca, each client's first message is "peer: " and its certificate's subject;
// SIGHUP reloads the certificates from their files.
// --help lists them. With --eio-path, requests to PATH speak Engine.IO v4: a bare Engine.IO echo server (what the
// official Engine.IO protocol suite drives at /engine.io/).
// SIGINT/SIGTERM shut it down gracefully (1001 to every client, drain, exit). GET /health and
// /ready answer 200; SIGUSR1 starts a drain and SIGUSR2 sets it not ready (503 at /ready).
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NaviosWS
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Sends each message back on the loop thread it arrived on: no copy beyond the send queue.
/// With a room, every client joins it and each message goes to the whole room instead.
final class EchoHandler: WsEngineHandler {
    /// --tls-client-ca: each client first hears the subject of its certificate.
    let tellsPeer: Bool
    let room: String?
    /// The engine, for rooms: set once it is made, before it listens.
    let engine = Mutex<WsEngine?>(nil)

    init(tellsPeer: Bool, room: String?) {
        self.tellsPeer = tellsPeer
        self.room = room
    }

    func onOpen(_ connection: borrowing WsConnection, request: WsUpgradeRequest) {
        if let room { try? engine.withLock { $0 }?.join(connection.id, room: room) }
        if tellsPeer { try? connection.send(text: "peer: " + (request.tlsPeerSubject ?? "")) }
    }

    func onText(_ connection: borrowing WsConnection, _ text: UnsafeRawBufferPointer) {
        if room != nil { return toRoom(.text, text) }
        try? connection.send(text: text)
    }

    func onBinary(_ connection: borrowing WsConnection, _ data: UnsafeRawBufferPointer) {
        if room != nil { return toRoom(.binary, data) }
        try? connection.send(binary: data)
    }

    private func toRoom(_ opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer) {
        guard let room, let engine = engine.withLock({ $0 }), let message = try? WsPreparedMessage(opcode: opcode, bytes: bytes)
        else { return }
        try? engine.broadcast(message, toRooms: [room])
    }
}

/// Prints the ready line from inside the service group once the engine listens, that is once
/// SIGTERM and SIGINT are handled: a test that signals right after reading it gets a graceful
/// shutdown. Then SIGUSR1 starts a drain (GET /ready and new upgrades answer 503 with
/// Retry-After: 7) and SIGUSR2 sets the engine not ready (GET /ready answers 503, upgrades are
/// still served); they are trapped before the line too.
struct ReadyLine: Service {
    let engine: WsEngine

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1, .sigusr2)
        let port = try await engine.listeningPort
        print("navios-ws-echo listening on ws://\(engine.configuration.host):\(port)/ (\(engine.backend), \(engine.loopThreads) loops)")
        fflush(nil)   // the tests wait for this line on a pipe
        for await signal in signals.cancelOnGracefulShutdown() {
            if signal == .sigusr1 { engine.drain(retryAfter: .seconds(7)) } else { engine.setReady(false) }
        }
    }
}

func usage(status: Int32 = 2) -> Never {
    print("""
        usage: navios-ws-echo [--host ADDR] [--port N] [--loops N] [--backend auto|epoll|io_uring]
                              [--max-message BYTES] [--max-backlog BYTES] [--handshake-timeout MS]
                              [--close-timeout MS] [--idle-timeout MS] [--ping-interval MS] [--pong-timeout MS]
                              [--eio-path PATH] [--eio-ping-interval MS] [--eio-ping-timeout MS]
                              [--deflate shared|dedicated] [--deflate-threshold BYTES] [--deflate-level 1-9]
                              [--deflate-window-bits 8-15] [--deflate-mem-level 1-9]
                              [--tls-cert FILE --tls-key FILE [--tls-sni NAME:CERT:KEY]... [--tls-client-ca FILE]]
                              [--room NAME]
          --room NAME            every client joins room NAME; each message goes to the room, not back
          --tls-cert, --tls-key  serve wss:// with this certificate chain and key (PEM); SIGHUP reloads them
          --tls-sni N:CERT:KEY   another certificate, for clients that ask for host N (SNI)
          --tls-client-ca FILE   ask clients for a certificate signed by these CAs (mutual TLS)
          --deflate MODE         accept permessage-deflate: shared (one compressor per loop, no context
                                 between messages) or dedicated (per connection, context kept)
          --deflate-threshold N  messages shorter than N bytes go out uncompressed (default 64);
                                 the --deflate-* settings apply with --deflate
        """)
    exit(status)
}


var configuration = WsEngineConfiguration()
configuration.port = 9001
configuration.healthPath = "/health"
configuration.readyPath = "/ready"
configuration.maxMessageSize = 16 << 20   // the interop suite's largest messages (the default suits applications)
// Applied once every flag is read: the --deflate-* settings may come before --deflate.
var deflate = WsEngineConfiguration.Deflate(mode: .shared)
var deflateOn = false
var tlsCertificates: [WsEngineConfiguration.TLS.Certificate] = []
var tlsCert: String?, tlsKey: String?, tlsClientCA: String?
var room: String?
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--help" || flag == "-h" { usage(status: 0) }
    guard let value = arguments.popFirst() else { usage() }
    switch flag {
    case "--host": configuration.host = value
    case "--port": configuration.port = Int(value) ?? { usage() }()
    case "--loops": configuration.loopThreads = Int(value) ?? { usage() }()
    case "--max-message": configuration.maxMessageSize = Int(value) ?? { usage() }()
    case "--max-backlog": configuration.maxBacklog = Int(value) ?? { usage() }()
    case "--handshake-timeout": configuration.handshakeTimeout = .milliseconds(Int(value) ?? { usage() }())
    case "--close-timeout": configuration.closeTimeout = .milliseconds(Int(value) ?? { usage() }())
    case "--idle-timeout": configuration.idleTimeout = .milliseconds(Int(value) ?? { usage() }())
    case "--ping-interval":
        let interval = Duration.milliseconds(Int(value) ?? { usage() }())
        configuration.heartbeat = .init(interval: interval, timeout: configuration.heartbeat?.timeout ?? .seconds(10))
    case "--pong-timeout":
        let timeout = Duration.milliseconds(Int(value) ?? { usage() }())
        configuration.heartbeat = .init(interval: configuration.heartbeat?.interval ?? .seconds(30), timeout: timeout)
    case "--eio-path": configuration.engineIO = .init(path: value)
    case "--eio-ping-interval":
        configuration.engineIO?.pingInterval = .milliseconds(Int(value) ?? { usage() }())
    case "--eio-ping-timeout":
        configuration.engineIO?.pingTimeout = .milliseconds(Int(value) ?? { usage() }())
    case "--deflate":
        switch value {
        case "shared": deflate.mode = .shared
        case "dedicated": deflate.mode = .dedicated
        default: usage()
        }
        deflateOn = true
    case "--tls-cert": tlsCert = value
    case "--tls-key": tlsKey = value
    case "--tls-client-ca": tlsClientCA = value
    case "--tls-sni":
        let parts = value.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3 else { usage() }
        tlsCertificates.append(.init(.files(chain: parts[1], key: parts[2]), serverName: parts[0]))
    case "--deflate-threshold": deflate.threshold = Int(value) ?? { usage() }()
    case "--deflate-level": deflate.level = Int(value) ?? { usage() }()
    case "--deflate-window-bits": deflate.windowBits = Int(value) ?? { usage() }()
    case "--deflate-mem-level": deflate.memoryLevel = Int(value) ?? { usage() }()
    case "--room": room = value
    case "--backend":
        switch value {
        case "auto": configuration.backend = .auto
        case "epoll": configuration.backend = .epoll
        case "io_uring", "uring": configuration.backend = .ioUring
        default: usage()
        }
    default: usage()
    }
}

if deflateOn { configuration.deflate = deflate }
if let tlsCert, let tlsKey {
    var tls = WsEngineConfiguration.TLS(certificates: [.init(.files(chain: tlsCert, key: tlsKey))] + tlsCertificates)
    tls.clientCertificateAuthorities = tlsClientCA
    configuration.tls = tls
} else if tlsCert != nil || tlsKey != nil || !tlsCertificates.isEmpty {
    usage()
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "navios-ws-echo")
do {
    let handler = EchoHandler(tellsPeer: tlsClientCA != nil, room: room)
    let engine = try WsEngine(configuration: configuration, handler: handler, logger: logger)
    handler.engine.withLock { $0 = engine }
    var services: [any Service] = [engine, ReadyLine(engine: engine)]
    if let tls = configuration.tls { services.append(WsCertificateReloadService(logger: logger) { try engine.reloadTLS(tls) }) }
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
} catch {
    logger.error("navios-ws-echo failed: \(error)")
    exit(1)
}

