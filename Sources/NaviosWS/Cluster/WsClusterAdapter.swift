import Logging
import Synchronization

/// The cluster protocol over any publish/subscribe transport: rooms, broadcasts and
/// server-side operations across every instance of an application.
///
/// Channels (`prefix` is the adapter's key prefix):
/// - `prefix#b#<room key>`, one per room: an instance subscribes while it has a member of
///   the room, so it receives no traffic for rooms it has no one in. A broadcast to k rooms
///   is published k times, once per room's channel, each copy naming the rooms before it as
///   excluded: an instance delivers each copy to the room's members who are in none of the
///   earlier rooms, so a client in several of the rooms gets it once. Cost: one channel
///   (and one subscription on Redis) per room an instance has members in, and k messages for
///   a broadcast to k rooms.
/// - `prefix#q`: requests, every instance subscribes; `prefix#r#<node>`: replies to one
///   instance. How many replies to wait for is the request channel's subscriber count
///   (less the asking instance).
///
/// An instance delivers to its own clients directly, never through the transport, and skips
/// its own messages when they come back; so local delivery goes on when the transport is down.
public final class WsClusterAdapter: WsAdapter {
    public let transport: any WsPubSubTransport
    public let keyPrefix: String
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var node: (any WsAdapterNode)?
        var nextRequestID: UInt64 = 1
        var pending: [UInt64: PendingRequest] = [:]
        var stats = Stats()
    }

    private struct PendingRequest {
        let expected: Int
        var replies: [WsClusterReply] = []
        let continuation: CheckedContinuation<[WsClusterReply], any Error>
    }

    /// Counters, for diagnostics and tests.
    public struct Stats: Sendable, Equatable {
        public var broadcastsPublished = 0
        /// Publishes the transport dropped (its link was down).
        public var broadcastsDropped = 0
        public var broadcastsReceived = 0
        public var requestsReceived = 0
        /// Messages on our channels that were not ours to read: foreign, truncated, corrupt.
        public var ignoredMessages = 0
        public var linkUps = 0
        public var linkDowns = 0
    }

    public init(transport: any WsPubSubTransport, keyPrefix: String = "navios-ws",
                logger: Logger = Logger(label: "navios.ws.cluster")) {
        self.transport = transport
        self.keyPrefix = keyPrefix
        self.logger = logger
    }

    public var stats: Stats { state.withLock { $0.stats } }

    var requestChannel: String { keyPrefix + "#q" }
    func replyChannel(_ node: String) -> String { keyPrefix + "#r#" + node }
    func broadcastChannel(_ roomKey: String) -> String { keyPrefix + "#b#" + roomKey }

    // MARK: WsAdapter

    public func start(node: any WsAdapterNode) async {
        state.withLock { $0.node = node }
        transport.start(
            receive: { [weak self] channel, message in self?.receive(channel, message) },
            linkChanged: { [weak self] up, reason in self?.linkChanged(up, reason) })
        transport.subscribe(requestChannel)
        transport.subscribe(replyChannel(node.nodeID))
    }

    public func stop() async {
        await transport.stop()
        let pending = state.withLock { state -> [PendingRequest] in
            state.node = nil
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for request in pending { request.continuation.resume(returning: request.replies) }
    }

    public func publish(_ broadcast: WsClusterBroadcast) {
        guard let node = state.withLock({ $0.node }) else { return }
        var published = 0
        for (index, room) in broadcast.rooms.enumerated() {
            var copy = broadcast
            copy.rooms = [room]
            copy.exceptRooms = broadcast.exceptRooms + broadcast.rooms[..<index]
            if transport.publish(broadcastChannel(room), WsClusterWire.encode(broadcast: copy, from: node.nodeID)) {
                published += 1
            }
        }
        let dropped = broadcast.rooms.count - published
        state.withLock {
            $0.stats.broadcastsPublished += published
            $0.stats.broadcastsDropped += dropped
        }
    }

    /// The transport's store, when it has one, with the adapter's key prefix on every key.
    public var sharedStore: (any WsSharedStore)? {
        (transport as? any WsSharedStore).map { WsPrefixedStore(base: $0, prefix: keyPrefix + "#") }
    }

    public func roomAdded(_ roomKey: String) { transport.subscribe(broadcastChannel(roomKey)) }
    public func roomRemoved(_ roomKey: String) { transport.unsubscribe(broadcastChannel(roomKey)) }

    public func request(_ request: WsClusterRequest, timeout: Duration) async throws -> [WsClusterReply] {
        guard let node = state.withLock({ $0.node }) else { return [] }
        let id = state.withLock { state -> UInt64 in
            defer { state.nextRequestID += 1 }
            return state.nextRequestID
        }
        let message = try WsClusterWire.encode(request: request, id: id, from: node.nodeID)
        guard request.expectsReply else {
            transport.publish(requestChannel, message)
            return []
        }
        // Unreachable service: no other instance can be asked; the caller gets this
        // instance's own part, and the log says why.
        guard let subscribers = await transport.subscriberCount(requestChannel) else {
            logger.warning("cluster request answered by this instance only: the pub/sub link is down")
            return []
        }
        let expected = subscribers - 1
        if expected <= 0 { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.pending[id] = PendingRequest(expected: expected, continuation: continuation) }
            if !transport.publish(requestChannel, message) {
                finish(id, .failure(WsException(.clusterUnreachable, "the pub/sub link is down")))
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                self.finish(id, nil)
            }
        }
    }

    // MARK: receiving

    private func receive(_ channel: String, _ bytes: UnsafeRawBufferPointer) {
        guard let node = state.withLock({ $0.node }) else { return }
        guard let message = WsClusterWire.decode(bytes), isWhole(message, on: channel, node) else {
            state.withLock { $0.stats.ignoredMessages += 1 }
            logger.debug("ignored a message that is not ours", metadata: ["channel": "\(channel)", "bytes": "\(bytes.count)"])
            return
        }
        switch message {
        case .broadcast(let from, let broadcast):
            guard from != node.nodeID else { return }
            state.withLock { $0.stats.broadcastsReceived += 1 }
            node.deliver(broadcast)
        case .request(let from, let id, let request):
            guard from != node.nodeID else { return }
            state.withLock { $0.stats.requestsReceived += 1 }
            Task {
                guard let reply = await node.handle(request), request.expectsReply,
                      let bytes = try? WsClusterWire.encode(reply: reply, id: id, from: node.nodeID) else { return }
                self.transport.publish(self.replyChannel(from), bytes)
            }
        case .reply(_, let id, let reply):
            let complete = state.withLock { state -> Bool in
                guard state.pending[id] != nil else { return false }
                state.pending[id]!.replies.append(reply)
                return state.pending[id]!.replies.count >= state.pending[id]!.expected
            }
            if complete { finish(id, nil) }
        }
    }

    /// Whether a decoded message may be acted on: it came on the one channel its kind is sent on
    /// (a broadcast on the channel of the room it names, so a copy published elsewhere reaches
    /// no one), and what it would put on a client's wire is a whole, valid envelope.
    private func isWhole(_ message: WsClusterWire.Message, on channel: String, _ node: any WsAdapterNode) -> Bool {
        switch message {
        case .broadcast(_, let broadcast):
            return broadcast.rooms.count == 1 && channel == broadcastChannel(broadcast.rooms[0])
                && node.isDeliverable(broadcast)
        case .request(_, _, let request):
            guard channel == requestChannel else { return false }
            guard case .emit(_, let envelope) = request else { return true }
            var text = envelope
            return text.withUTF8 { node.isDeliverable(UnsafeRawBufferPointer($0)) }
        case .reply:
            return channel == replyChannel(node.nodeID)
        }
    }

    /// Ends a pending request: with its replies when all came (`outcome` nil and enough
    /// replies), with a timeout error when not, or with `outcome`.
    private func finish(_ id: UInt64, _ outcome: Result<[WsClusterReply], any Error>?) {
        guard let request = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        if let outcome {
            request.continuation.resume(with: outcome)
        } else if request.replies.count >= request.expected {
            request.continuation.resume(returning: request.replies)
        } else {
            request.continuation.resume(throwing: WsException(
                "cluster_timeout", "\(request.replies.count) of \(request.expected) instances answered in time"))
        }
    }

    private func linkChanged(_ up: Bool, _ reason: String?) {
        state.withLock { if up { $0.stats.linkUps += 1 } else { $0.stats.linkDowns += 1 } }
        if up {
            logger.info("pub/sub link up")
        } else {
            logger.warning("pub/sub link down: remote delivery paused, local delivery goes on",
                           metadata: ["reason": "\(reason ?? "unknown")"])
        }
    }
}

/// A shared store whose keys and logs all start with one prefix (an application's).
final class WsPrefixedStore: WsSharedStore {
    let base: any WsSharedStore
    let prefix: String

    init(base: any WsSharedStore, prefix: String) {
        self.base = base
        self.prefix = prefix
    }

    func append(_ fields: [(name: String, value: [UInt8])], to log: String, maxLength: Int) {
        base.append(fields, to: prefix + log, maxLength: maxLength)
    }

    func entries(of log: String, before: String?, count: Int) async -> [WsSharedLogEntry]? {
        await base.entries(of: prefix + log, before: before, count: count)
    }

    func put(_ value: [UInt8], at key: String, expiringAfter: Duration) {
        base.put(value, at: prefix + key, expiringAfter: expiringAfter)
    }

    func take(_ key: String) async -> [UInt8]? { await base.take(prefix + key) }
}
