/// Connection state recovery (Socket.IO 4.6's): a client whose connection dropped and that
/// reconnects within ``maxDisconnectionDuration`` gets its id, rooms, `data` and every broadcast
/// it missed back, in order, and `recovered` is true in `onConnection`.
///
/// How a client takes part: a Socket.IO client (v4.6 and later) does it by itself (the CONNECT
/// reply carries its `pid`, broadcasts carry an offset as their last argument, and it sends both
/// back in its next CONNECT). A JSON client is sent `{"event":"session","data":{"id","pid",
/// "recovered"}}` first, broadcasts carry `"offset"`, and it reconnects with
/// `?pid=…&offset=…` in its URL (`offset` left out when it got no broadcast).
///
/// Where: on each instance, or, when the adapter has a shared store (the Redis adapter's), in
/// that store, so a client may come back to any instance (see ``WsSharedSession``).
///
/// What is kept, bounded (the oldest go first): the broadcasts of each namespace, for
/// replay (``maxBufferedBroadcasts`` and ``maxBufferedBytes``), and the sessions of dropped
/// connections (``maxSessions``). A client whose offset has gone from the log, that missed more
/// than ``maxReplayed`` broadcasts, that comes back after the window, or whose `pid` is unknown
/// (forged, used already, another namespace's) gets a fresh session. Volatile broadcasts are
/// neither kept nor replayed; emits to one client are not broadcasts and are not kept either.
/// A client closed on purpose keeps no session: by the server, by a Socket.IO client's
/// DISCONNECT, by a JSON client's normal close (1000, or no code).
public struct WsConnectionStateRecovery: Sendable {
    /// How long a dropped connection's session is kept: 2 min, Socket.IO's default.
    public var maxDisconnectionDuration: Duration = .seconds(120)
    /// Whether a recovered client skips the gateway's guards (Socket.IO's `skipMiddlewares`):
    /// it passed them when it first connected.
    public var skipGuards = true
    /// Broadcasts kept per namespace: 10,000, at most ``maxBufferedBytes`` bytes of them.
    public var maxBufferedBroadcasts = 10_000
    public var maxBufferedBytes = 64 << 20
    /// Broadcasts one recovery may replay: 1,000; a client that missed more starts afresh.
    public var maxReplayed = 1_000
    /// Sessions of dropped connections kept at once: 100,000.
    public var maxSessions = 100_000

    public init(maxDisconnectionDuration: Duration = .seconds(120), skipGuards: Bool = true) {
        self.maxDisconnectionDuration = maxDisconnectionDuration
        self.skipGuards = skipGuards
    }
}
