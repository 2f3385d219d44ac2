/// How the instances of one application reach each other (the spec's `adapter`).
///
/// The runtime delivers every broadcast to its own clients first, then hands it to the
/// adapter for the other instances; it asks the adapter for server-side operations that
/// span instances (`fetchSockets`, `socketsJoin`, `serverSideEmit`...). `InMemoryWsAdapter`,
/// the default, knows no other instance. `WsClusterAdapter` implements the whole protocol
/// over any publish/subscribe transport (`RedisWsAdapter` in NaviosWSRedis is one).
public protocol WsAdapter: AnyObject, Sendable {
    /// The application listens: from now on `node` receives what other instances send.
    /// Must not wait for a remote service: an instance serves its own clients even when the
    /// service behind the adapter is down.
    func start(node: any WsAdapterNode) async
    /// The application closes. No call reaches `node` after this returns.
    func stop() async
    /// A broadcast this instance already delivered to its own clients.
    func publish(_ broadcast: WsClusterBroadcast)
    /// This instance gained its first member of a room (a key as `WsClusterBroadcast` names
    /// rooms), or lost its last: an adapter may then stop receiving that room's traffic.
    func roomAdded(_ roomKey: String)
    func roomRemoved(_ roomKey: String)
    /// Asks every other instance and gathers their replies (none for operations that have
    /// none); throws `WsException(.clusterTimeout)` when some instance did not answer
    /// within `timeout`.
    func request(_ request: WsClusterRequest, timeout: Duration) async throws -> [WsClusterReply]
    /// A store every instance reaches, where connection state recovery keeps sessions and
    /// broadcast logs so a client may come back to any instance; nil (the default): recovery
    /// keeps them on each instance.
    var sharedStore: (any WsSharedStore)? { get }
    /// Whether the link to the service behind the adapter is up now (readiness may depend on
    /// it: ``WsConfig/adapterDownLimit``); true for an adapter without one.
    var linkUp: Bool { get }
    /// What the adapter counted, read when metrics are collected; nil for one that counts
    /// nothing (one instance alone).
    var statistics: WsAdapterStatistics? { get }
}

extension WsAdapter {
    public var sharedStore: (any WsSharedStore)? { nil }
    public var linkUp: Bool { true }
    public var statistics: WsAdapterStatistics? { nil }
}

/// An adapter's counters (``WsAdapter/statistics``), since it started.
public struct WsAdapterStatistics: Sendable, Equatable {
    public var linkUp: Bool
    public var broadcastsPublished: Int
    /// Broadcasts other instances did not get: the link was down.
    public var broadcastsDropped: Int
    public var broadcastsReceived: Int
    /// Messages on its channels that were not its to read (foreign, truncated, corrupt).
    public var ignoredMessages: Int
    /// Publishes the service answered, and the time from each publish to its answer, summed.
    public var publishesAnswered: UInt64
    public var publishLatency: Duration

    public init(linkUp: Bool, broadcastsPublished: Int, broadcastsDropped: Int, broadcastsReceived: Int,
                ignoredMessages: Int, publishesAnswered: UInt64, publishLatency: Duration) {
        self.linkUp = linkUp
        self.broadcastsPublished = broadcastsPublished
        self.broadcastsDropped = broadcastsDropped
        self.broadcastsReceived = broadcastsReceived
        self.ignoredMessages = ignoredMessages
        self.publishesAnswered = publishesAnswered
        self.publishLatency = publishLatency
    }
}

/// The instance as an adapter sees it: where remote broadcasts and requests land.
/// Both may be called from any thread.
public protocol WsAdapterNode: AnyObject, Sendable {
    /// Names this instance in client ids and cluster messages; random per start.
    var nodeID: String { get }
    /// A broadcast from another instance: delivered to this instance's clients. The adapter
    /// calls it only for a broadcast that passed `isDeliverable`.
    func deliver(_ broadcast: WsClusterBroadcast)
    /// Whether each encoding of the broadcast is a whole message of its wire protocol and valid
    /// UTF-8: what another instance sends reaches no client before it passes this check.
    func isDeliverable(_ broadcast: WsClusterBroadcast) -> Bool
    /// The same for a JSON envelope (a remote socket's emit).
    func isDeliverable(_ envelope: UnsafeRawBufferPointer) -> Bool
    /// An operation from another instance; nil for operations that have no reply.
    func handle(_ request: WsClusterRequest) async -> WsClusterReply?
}

/// One instance alone: broadcasts reach only its own clients and cluster-wide operations see
/// only them.
public final class InMemoryWsAdapter: WsAdapter {
    public init() {}
    public func start(node: any WsAdapterNode) async {}
    public func stop() async {}
    public func publish(_ broadcast: WsClusterBroadcast) {}
    public func roomAdded(_ roomKey: String) {}
    public func roomRemoved(_ roomKey: String) {}
    public func request(_ request: WsClusterRequest, timeout: Duration) async throws -> [WsClusterReply] { [] }
}
