import Foundation

/// The flags chat-example takes (main.swift says what each does). Here, not in main.swift: a
/// global there is set only when the script reaches it, and the configuration is read first.
let usage = """
    usage: chat-example [--port 3000] [--host 127.0.0.1] [--rate N] [--redis HOST:PORT]
                        [--socketio-client socket.io.min.js] [--tls-cert FILE --tls-key FILE]
                        [--deflate shared|dedicated] [--drain-window-ms MS]
                        [--session-lifetime-ms MS] [--session-grace-ms MS]
                        [--metrics-token T] [--metrics-port N] [--admin-token T]
    """

/// A command line it cannot take: what is wrong and the usage on standard error, exit status 2.
func refuse(_ problem: String) -> Never {
    FileHandle.standardError.write(Data("chat-example: \(problem)\n\(usage)\n".utf8))
    exit(2)
}
