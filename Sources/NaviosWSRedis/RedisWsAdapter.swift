internal import CNaviosRedis
import Logging
import NaviosWS

/// Rooms, broadcasts and server-side operations across every instance of an application,
/// through Redis pub/sub (the spec's `RedisWsAdapter`):
///
/// ```swift
/// let WsToken = provideWsService(WsConfig(adapter: RedisWsAdapter(host: "10.0.0.5", port: 6379)))
/// ```
///
/// The cluster protocol is `WsClusterAdapter`'s (a channel per room, so an instance receives
/// no broadcasts for rooms it has no member of). The Redis side runs on a thread of its own,
/// not on the WebSocket loops: a slow or unreachable Redis must never delay a loop, and the
/// loops are reached the way any other thread reaches them (their inboxes).
///
/// Redis down at start-up or lost later: local clients are served as always; the link retries
/// with a doubling delay (100 ms up to 5 s) and renews every subscription. Broadcasts
/// published meanwhile reach only local clients: they are dropped for the other instances and
/// counted (`stats.broadcastsDropped`), never replayed late and out of order.
public final class RedisWsAdapter: WsAdapter {
    public struct TLS: Sendable {
        /// nil with `verify` false: no verification (self-signed test servers).
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        /// The name the certificate must carry; the host when nil.
        public var serverName: String?
        public var verify: Bool

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                    serverName: String? = nil, verify: Bool = true) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.serverName = serverName
            self.verify = verify
        }
    }

    struct Options: Sendable {
        var host: String
        var port: Int
        var username: String?
        var password: String?
        var db: Int
        var tls: TLS?
        var logger: Logger
    }

    private let cluster: WsClusterAdapter
    private let transport: RedisPubSubTransport

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
                db: Int = 0, tls: TLS? = nil, keyPrefix: String = "navios-ws",
                logger: Logger = Logger(label: "navios.ws.redis")) {
        transport = RedisPubSubTransport(options: Options(
            host: host, port: port, username: username, password: password, db: db, tls: tls, logger: logger))
        cluster = WsClusterAdapter(transport: transport, keyPrefix: keyPrefix, logger: logger)
    }

    /// `"host:port"` or `"host"` (port 6379), as command lines take it.
    public convenience init(address: String, password: String? = nil, db: Int = 0, tls: TLS? = nil,
                            keyPrefix: String = "navios-ws") {
        let parts = address.split(separator: ":", maxSplits: 1)
        self.init(host: parts.first.map(String.init) ?? "127.0.0.1",
                  port: parts.count > 1 ? Int(parts[1]) ?? 6379 : 6379, password: password, db: db, tls: tls,
                  keyPrefix: keyPrefix)
    }

    /// The cluster protocol's counters and the Redis link's.
    public struct Stats: Sendable {
        public var cluster: WsClusterAdapter.Stats
        public var linkUp: Bool
        public var published: UInt64
        public var dropped: UInt64
        public var received: UInt64
        public var reconnects: UInt64
    }

    public var stats: Stats {
        let link = transport.linkStats
        return Stats(cluster: cluster.stats, linkUp: link.up != 0, published: link.published, dropped: link.dropped,
                     received: link.received, reconnects: link.reconnects)
    }

    public var linkUp: Bool { transport.linkStats.up != 0 }

    public var statistics: WsAdapterStatistics? {
        let link = transport.linkStats, cluster = cluster.stats
        return WsAdapterStatistics(
            linkUp: link.up != 0, broadcastsPublished: cluster.broadcastsPublished,
            broadcastsDropped: cluster.broadcastsDropped, broadcastsReceived: cluster.broadcastsReceived,
            ignoredMessages: cluster.ignoredMessages, publishesAnswered: link.published,
            publishLatency: .nanoseconds(Int64(clamping: link.publish_latency_ns)))
    }

    public func start(node: any WsAdapterNode) async { await cluster.start(node: node) }
    public func stop() async { await cluster.stop() }
    public func publish(_ broadcast: WsClusterBroadcast) { cluster.publish(broadcast) }
    public func roomAdded(_ roomKey: String) { cluster.roomAdded(roomKey) }
    /// Sessions under keys that expire and a stream per namespace (see ``RedisPubSubTransport``).
    public var sharedStore: (any WsSharedStore)? { cluster.sharedStore }
    public func roomRemoved(_ roomKey: String) { cluster.roomRemoved(roomKey) }
    public func request(_ request: WsClusterRequest, timeout: Duration) async throws -> [WsClusterReply] {
        try await cluster.request(request, timeout: timeout)
    }
}

extension RedisWsAdapter.Options {
    /// The C configuration, its strings alive for the call (the link copies them).
    func withCConfig<R>(_ body: (inout nws_redis_config) -> R) -> R {
        var config = nws_redis_config()
        config.port = Int32(port)
        config.db = Int32(db)
        config.tls = tls == nil ? 0 : 1
        config.tls_verify = tls?.verify == true ? 1 : 0
        return host.withCString { hostC in
            withOptionalCString(username) { userC in
                withOptionalCString(password) { passwordC in
                    withOptionalCString(tls?.caFile) { caC in
                        withOptionalCString(tls?.certFile) { certC in
                            withOptionalCString(tls?.keyFile) { keyC in
                                withOptionalCString(tls?.serverName) { nameC in
                                    config.host = hostC
                                    config.username = userC
                                    config.password = passwordC
                                    config.tls_ca_file = caC
                                    config.tls_cert_file = certC
                                    config.tls_key_file = keyC
                                    config.tls_server_name = nameC
                                    return body(&config)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
