// hummingbird-echo — echoes every text and binary message back to its sender, on
// Hummingbird 2 + hummingbird-websocket, the way their own Autobahn server does it.
// It is a peer of navios-ws-echo in Benchmarks/run-suite.sh.
//   swift build -c release --package-path Benchmarks/peers/hummingbird/hummingbird-echo
//   Benchmarks/peers/hummingbird/hummingbird-echo/.build/release/hummingbird-echo --port 9002 [--host ADDR]
// Prints "hummingbird-echo listening on ws://HOST:PORT/" once the socket is bound.
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdWebSocket
import Logging

func usage() -> Never {
    print("usage: hummingbird-echo [--host ADDR] [--port N]")
    exit(2)
}

var hostArgument = "127.0.0.1"
var portArgument = 9002
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { usage() }
    switch flag {
    case "--port": portArgument = Int(value) ?? { usage() }()
    case "--host": hostArgument = value
    default: usage()
    }
}
// Constants, so the @Sendable ready callback may read them.
let host = hostArgument
let port = portArgument

var logger = Logger(label: "hummingbird-echo")
logger.logLevel = .warning   // no per-connection log lines in a benchmark

// Same limit as navios-ws-echo's default max message: the 16 KiB scenario must fit.
let maxMessage = 16 << 20
let app = Application(
    router: Router(),
    server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: maxMessage))) { _, _, _ in
        .upgrade([:]) { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: maxMessage) {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let buffer): try await outbound.write(.binary(buffer))
                }
            }
        }
    },
    configuration: .init(address: .hostname(host, port: port)),
    onServerRunning: { channel in
        print("hummingbird-echo listening on ws://\(host):\(channel.localAddress?.port ?? port)/")
        fflush(nil)   // run-suite.sh waits for this line in a file
    },
    logger: logger
)
try await app.runService()
