// vapor-echo — echoes every text and binary message back to its sender on Vapor 4
// (WebSocketKit underneath), with Vapor's own route-level WebSocket API. A peer of
// navios-ws-echo in Benchmarks/run-suite.sh.
//   swift build -c release --package-path Benchmarks/peers/vapor/vapor-echo
//   Benchmarks/peers/vapor/vapor-echo/.build/release/vapor-echo --port 9005 [--host ADDR]
// Prints "vapor-echo listening on ws://HOST:PORT/" once the socket is bound.
#if canImport(Glibc)
import Glibc
#endif
import Vapor

func usage() -> Never {
    print("usage: vapor-echo [--host ADDR] [--port N]")
    exit(2)
}

var host = "127.0.0.1"
var port = 9005
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { usage() }
    switch flag {
    case "--port": port = Int(value) ?? { usage() }()
    case "--host": host = value
    default: usage()
    }
}

/// Runs until killed: the suite ends it with SIGTERM, and nothing needs a clean shutdown.
/// A function rather than top-level code: from top-level code the compiler picks the
/// synchronous `start(address:)`, which Vapor marks unavailable from async contexts.
func serve(host: String, port: Int) async throws -> Never {
    // Vapor's own command line (serve --port ...) is not used: these flags match the other peers.
    let app = try await Application.make(Environment(name: "production", arguments: ["vapor-echo"]))
    app.logger.logLevel = .warning   // no per-connection log lines in a benchmark

    // Same limit as navios-ws-echo's default max message.
    app.webSocket(maxFrameSize: WebSocketMaxFrameSize(integerLiteral: 16 << 20)) { _, ws in
        ws.onText { (ws: WebSocket, text: String) -> Void in
            ws.send(text, promise: nil)
        }
        ws.onBinary { (ws: WebSocket, buffer: ByteBuffer) -> Void in
            ws.send(raw: buffer.readableBytesView, opcode: .binary, promise: nil)
        }
    }

    try await app.server.start(address: .hostname(host, port: port))
    print("vapor-echo listening on ws://\(host):\(app.http.server.shared.localAddress?.port ?? port)/")
    fflush(nil)   // the suite waits for this line in a file
    while true {
        try await Task.sleep(for: .seconds(3600))
    }
}

try await serve(host: host, port: port)
