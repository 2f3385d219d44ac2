internal import CNaviosWS

/// Everything the engine can be told, with a reason for each default: the one set of
/// transport defaults (the C core's zero fields take the same values, from nws_server.h).
public struct WsEngineConfiguration: Sendable {
    public enum Backend: Sendable {
        /// io_uring, or epoll when the kernel or a container refuses io_uring.
        case auto
        case ioUring
        case epoll
    }

    public enum BackpressurePolicy: Sendable {
        /// Drop droppable messages; close with 1008 on any other message past the limit.
        case close
        /// Drop every message past the limit and keep the connection.
        case drop
    }

    public struct Heartbeat: Sendable {
        public var interval: Duration
        public var timeout: Duration
        public init(interval: Duration, timeout: Duration) {
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// Engine.IO v4 (Socket.IO's transport) on one path beside plain WebSocket.
    public struct EngineIO: Sendable {
        /// Requests to this path speak Engine.IO (the trailing slash is optional in requests).
        public var path: String
        /// 25 s and 20 s: Engine.IO's own defaults, which clients expect.
        public var pingInterval: Duration = .milliseconds(Int(NWS_DEFAULT_EIO_PING_INTERVAL_MS.rawValue))
        public var pingTimeout: Duration = .milliseconds(Int(NWS_DEFAULT_EIO_PING_TIMEOUT_MS.rawValue))
        /// Advertised to clients in the open packet: Engine.IO's default of 1,000,000 bytes.
        public var maxPayload: Int = Int(NWS_DEFAULT_EIO_MAX_PAYLOAD.rawValue)

        public init(path: String = "/socket.io/") {
            self.path = path
        }
    }

    /// permessage-deflate (RFC 7692), which browsers offer on every connection.
    public struct Deflate: Sendable {
        public enum Mode: Sendable {
            /// One compressor and one decompressor per loop thread, no context kept between
            /// messages: no compression memory per connection, and a broadcast is compressed
            /// once for all its members.
            case shared
            /// A compressor and a decompressor per connection, kept across messages: better
            /// ratios for long conversations, at the memory their windows take.
            case dedicated
        }

        public var mode: Mode
        /// 64 bytes: below it a message goes out as it is (deflate makes a short line longer).
        public var threshold: Int = Int(NWS_DEFAULT_DEFLATE_THRESHOLD.rawValue)
        /// zlib's level, 1 (fastest, the default: chat text compresses well at any level) to 9.
        public var level: Int = Int(NWS_DEFAULT_DEFLATE_LEVEL.rawValue)
        /// The server's compression window, 8 to 15 bits (a client may ask for less).
        public var windowBits: Int = Int(NWS_DEFAULT_DEFLATE_WINDOW_BITS.rawValue)
        /// zlib's memory level of the compressor, 1 to 9.
        public var memoryLevel: Int = Int(NWS_DEFAULT_DEFLATE_MEM_LEVEL.rawValue)
        /// Dedicated mode: the window asked of clients that can limit theirs (the memory of
        /// each connection's decompressor), 8 to 15 bits.
        public var clientWindowBits: Int = Int(NWS_DEFAULT_DEFLATE_WINDOW_BITS.rawValue)

        public init(mode: Mode) {
            self.mode = mode
        }
    }

    /// TLS on every connection: wss:// and https://, served by the core on the loop threads.
    public struct TLS: Sendable {
        /// A certificate chain (leaf first) and its private key, PEM.
        public struct Certificate: Sendable {
            public enum Source: Sendable {
                case files(chain: String, key: String)
                case pem(chain: String, key: String)
            }
            public var source: Source
            /// SNI: the host name it serves ("*.example.com" covers one label); nil for the
            /// default (the first certificate is the default anyway).
            public var serverName: String?

            public init(_ source: Source, serverName: String? = nil) {
                self.source = source
                self.serverName = serverName
            }
        }

        public enum Version: Sendable {
            case tls12, tls13
        }

        /// The first is the default; the others are chosen by SNI.
        public var certificates: [Certificate]
        /// A PEM file of the CAs client certificates must chain to (mutual TLS); nil = none asked.
        /// The subject of a verified client certificate is ``WsUpgradeRequest/tlsPeerSubject``.
        public var clientCertificateAuthorities: String? = nil
        /// With client CAs: let clients without a certificate in (they have no subject).
        public var clientCertificateOptional = false
        /// TLS 1.2 by default: what every client of the last decade speaks.
        public var minimumVersion: Version = .tls12

        public init(certificates: [Certificate]) {
            self.certificates = certificates
        }
    }

    /// Loopback by default: listening on every interface should be a decision.
    public var host: String = "127.0.0.1"
    /// 0 lets the kernel pick a free port; ``WsEngine/port`` tells which.
    public var port: Int = 0
    /// 0 = one loop thread per online CPU.
    public var loopThreads: Int = 0
    /// `.auto` unless the environment variable NAVIOS_WS_BACKEND says otherwise.
    public var backend: Backend = .auto
    /// 1 MiB: far above chat traffic, far below what hurts (the Autobahn suite's 16 MiB cases
    /// run with a larger limit).
    public var maxMessageSize: Int = Int(NWS_DEFAULT_MAX_MESSAGE.rawValue)
    /// nil = the message limit; one frame can never be larger than a message anyway.
    public var maxFrameSize: Int? = nil
    /// 10 s from accept to a complete upgrade request: slow clients fit, slowloris does not.
    public var handshakeTimeout: Duration = .milliseconds(Int(NWS_DEFAULT_HANDSHAKE_TIMEOUT_MS.rawValue))
    /// nil = no idle timeout; the heartbeat is the usual liveness check.
    public var idleTimeout: Duration? = nil
    /// nil = no pings from the server.
    public var heartbeat: Heartbeat? = nil
    /// 3 s for the peer to answer our close frame before the socket is cut.
    public var closeTimeout: Duration = .milliseconds(Int(NWS_DEFAULT_CLOSE_TIMEOUT_MS.rawValue))
    /// 5 s at shutdown for queues to empty and clients to answer 1001: enough for a burst in
    /// flight, short enough for a rolling deploy.
    public var shutdownDrain: Duration = .seconds(5)
    /// 1 MiB of queued bytes per connection before the policy applies: a few seconds of a
    /// busy chat, and a hard bound on what one slow client costs.
    public var maxBacklog: Int = Int(NWS_DEFAULT_MAX_BACKLOG.rawValue)
    public var backpressurePolicy: BackpressurePolicy = .close
    /// 8 KiB for the whole upgrade request: browsers send 1-2 KiB, cookies included.
    public var maxRequestHeadBytes: Int = Int(NWS_DEFAULT_MAX_HEAD_BYTES.rawValue)
    /// A plain GET of this path gets `200 ok` while the process serves (liveness); nil = none.
    public var healthPath: String? = nil
    /// A plain GET of this path gets `200 ready`, or `503` once draining (with `Retry-After`)
    /// or while ``WsEngine/setReady(_:)`` says not ready (readiness, for load balancers);
    /// nil = none. Answered by the core: no Swift code runs for it.
    public var readyPath: String? = nil
    /// How long a graceful shutdown lets clients move elsewhere before the 1001 (a rolling
    /// deploy's drain). At once: readiness turns false, new upgrades get `503` with
    /// `Retry-After` (the window in seconds, rounded up), and the handler is told
    /// (``WsEngineHandler/engineDraining(window:)``) so that it can tell clients when to go. The
    /// window ends early once no client is left; then work in flight finishes
    /// (``WsEngineHandler/engineQuiesce()``, up to ``shutdownDrain``), and 1001 goes to the
    /// rest. Zero (the default): 1001 at once. Task cancellation never waits for it.
    public var drainWindow: Duration = .zero
    /// Fixed resources answered with 200 to a plain GET of their path (an HTML page, a script).
    public var pages: [WsPage] = []
    /// nil = any Origin; otherwise the exact origins allowed (a request without Origin, from a
    /// non-browser client, is allowed).
    public var allowedOrigins: [String]? = nil
    /// Subprotocols the server speaks, in order of preference; the first one the client offers
    /// is chosen. Empty = none is negotiated.
    public var subprotocols: [String] = []
    /// Rooms one connection may be in at once; `join` past it throws
    /// ``WsCoreError/limitExceeded``. 0 = no limit: the engine leaves the policy to its user.
    public var maxRoomsPerConnection: Int = 0
    /// nil = no Engine.IO: every path speaks plain WebSocket.
    public var engineIO: EngineIO? = nil
    /// nil = permessage-deflate is declined: messages go uncompressed.
    public var deflate: Deflate? = nil
    /// nil = plain ws:// and http://; otherwise every connection speaks TLS.
    public var tls: TLS? = nil

    public init() {}
}

/// A fixed HTTP resource the engine serves beside its WebSockets.
public struct WsPage: Sendable {
    public var path: String
    public var contentType: String
    public var body: [UInt8]

    public init(path: String, contentType: String, body: [UInt8]) {
        self.path = path
        self.contentType = contentType
        self.body = body
    }
}
