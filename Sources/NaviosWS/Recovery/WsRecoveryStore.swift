import Synchronization

/// What connection state recovery keeps on this instance (``WsConnectionStateRecovery``): each
/// namespace's broadcasts since the oldest still needed, in the order this instance delivered
/// them (its own and those that came from other instances), each with its offset and
/// selection, and the sessions of dropped connections by `pid`. Bounded; the oldest go first.
///
/// An offset names the instance that sent the broadcast and its count there (`node:hex`), so it
/// is the same on every instance that delivers it; a client's offset is looked up in the log of
/// the instance it comes back to, and one it does not hold gets the client a fresh session.
final class WsRecoveryStore: Sendable {
    /// A broadcast as it was sent: who it was for, and its encodings (offset included).
    struct Broadcast: Sendable {
        let offset: String
        let rooms: [String]
        let exceptRooms: [String]
        /// The id of the client it excluded (its sender), if any.
        let exceptClient: String?
        let json: [UInt8]
        let socketIO: [UInt8]?
        let attachments: [[UInt8]]
        let sentAt: ContinuousClock.Instant
        var bytes: Int { json.count + (socketIO?.count ?? 0) + attachments.reduce(0) { $0 + $1.count } }

        /// Whether it was for the client `id` in `rooms` (room keys): one of its rooms, none it
        /// excluded, and not its sender.
        func selects(_ id: String, in rooms: Set<String>) -> Bool {
            exceptClient != id && self.rooms.contains(where: rooms.contains) && !exceptRooms.contains(where: rooms.contains)
        }
    }

    /// A dropped connection's client, as it will come back.
    struct Session: Sendable {
        let id: String
        let namespace: String
        /// Room keys (its namespace's own included).
        let rooms: Set<String>
        let data: WsClientData
        /// Where its namespace's log stood when the client connected: without an offset, it got
        /// nothing from there on. When it first connected, in ms since 1970.
        let joinedAt: Int
        let joinedAtTime: Int64
        let droppedAt: ContinuousClock.Instant
    }

    private struct Log {
        var broadcasts: [Broadcast] = []
        /// Where the live part of `broadcasts` starts (dropped ones are compacted away in bulk).
        var start = 0
        var bytes = 0
        /// Where each kept broadcast is in `broadcasts`, counted from the first ever kept.
        var position: [String: Int] = [:]
        var dropped = 0
    }

    private struct State {
        var lastOffset: UInt64 = 0
        var logs: [String: Log] = [:]
        var sessions: [String: Session] = [:]
        /// `pid`s in the order their sessions were saved (some may be gone: taken or expired).
        var sessionOrder: [String] = []
        var orderStart = 0
    }

    let settings: WsConnectionStateRecovery
    /// Names this instance in its offsets.
    let node: String
    private let state = Mutex(State())

    init(_ settings: WsConnectionStateRecovery, node: String) {
        self.settings = settings
        self.node = node
    }

    /// The offset of this instance's next broadcast.
    func nextOffset() -> String {
        let count = state.withLock { state in
            state.lastOffset += 1
            return state.lastOffset
        }
        return node + ":" + String(count, radix: 16)
    }


    /// Keeps a broadcast of `namespace` for replay (one of this instance's, or one another sent
    /// that this one delivered), dropping the oldest past the bounds.
    func record(_ broadcast: Broadcast, namespace: String) {
        state.withLock { state in
            var log = state.logs[namespace] ?? Log()
            log.position[broadcast.offset] = log.dropped + log.broadcasts.count - log.start
            log.broadcasts.append(broadcast)
            log.bytes += broadcast.bytes
            // Past the bounds, or older than any session could need.
            while log.broadcasts.count - log.start > settings.maxBufferedBroadcasts
                || (log.bytes > settings.maxBufferedBytes && log.broadcasts.count - log.start > 1)
                || broadcast.sentAt - log.broadcasts[log.start].sentAt > settings.maxDisconnectionDuration {
                let dropped = log.broadcasts[log.start]
                log.bytes -= dropped.bytes
                log.position[dropped.offset] = nil
                log.dropped += 1
                log.start += 1
            }
            if log.start > 1024 && log.start * 2 > log.broadcasts.count {
                log.broadcasts.removeFirst(log.start)
                log.start = 0
            }
            state.logs[namespace] = log
        }
    }

    /// Saves the session of a client whose connection dropped, under its `pid`.
    func save(_ session: Session, pid: String) {
        state.withLock { state in
            state.sessions[pid] = session
            state.sessionOrder.append(pid)
            // Past the bound, or expired (saved in order: the expired ones come first).
            while state.orderStart < state.sessionOrder.count {
                let oldest = state.sessionOrder[state.orderStart]
                let expired = state.sessions[oldest].map { session.droppedAt - $0.droppedAt > settings.maxDisconnectionDuration }
                guard state.sessions.count > settings.maxSessions || expired != false else { break }
                if oldest != pid { state.sessions[oldest] = nil }
                state.orderStart += 1
            }
            if state.orderStart > 1024 && state.orderStart * 2 > state.sessionOrder.count {
                state.sessionOrder.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    /// Takes the session saved under `pid` for `namespace`, with the broadcasts it missed after
    /// `offset` (nil: it got none after it connected), in order; nil when it cannot be
    /// recovered (see ``WsConnectionStateRecovery``). A session is taken once.
    func take(pid: String, namespace: String, offset: String?, now: ContinuousClock.Instant = .now)
        -> (Session, [Broadcast])?
    {
        state.withLock { state -> (Session, [Broadcast])? in
            guard let session = state.sessions[pid], session.namespace == namespace else { return nil }
            state.sessions[pid] = nil
            guard now - session.droppedAt <= settings.maxDisconnectionDuration else { return nil }
            let log = state.logs[namespace] ?? Log()
            // The first broadcast it may have missed: the one after its offset (which must still
            // be here), or, without an offset, the first kept after it joined.
            let first: Int
            if let offset {
                guard let position = log.position[offset] else { return nil }
                first = position + 1
            } else {
                first = session.joinedAt
            }
            guard first >= log.dropped else { return nil }   // some it missed are gone
            var missed: [Broadcast] = []
            for broadcast in log.broadcasts[(log.start + first - log.dropped)...] {
                guard broadcast.selects(session.id, in: session.rooms) else { continue }
                missed.append(broadcast)
                if missed.count > settings.maxReplayed { return nil }
            }
            return (session, missed)
        }
    }

    /// The offsets of the last kept broadcasts delivered to the client of `session` (those its
    /// rooms select since it connected), oldest first, as ``WsSharedSession/delivered`` lists
    /// them; and whether they are all it was delivered.
    func delivered(to session: Session, now: ContinuousClock.Instant = .now) -> (offsets: [String], all: Bool) {
        state.withLock { state in
            guard let log = state.logs[session.namespace] else { return ([], true) }
            let first = log.start + max(session.joinedAt - log.dropped, 0)
            var offsets: [String] = []
            var index = log.broadcasts.count - 1
            while index >= first && offsets.count <= settings.maxReplayed {
                let broadcast = log.broadcasts[index]
                if offsets.count >= WsSharedSession.deliveredMinimum
                    && now - broadcast.sentAt > WsSharedSession.deliveredWindow { break }
                if broadcast.selects(session.id, in: session.rooms) {
                    offsets.append(broadcast.offset)
                }
                index -= 1
            }
            return (offsets.reversed(), index < first && session.joinedAt >= log.dropped)
        }
    }

    /// Where `namespace`'s log stands: the position the next broadcast will have.
    func position(of namespace: String) -> Int {
        state.withLock { state in
            guard let log = state.logs[namespace] else { return 0 }
            return log.dropped + log.broadcasts.count - log.start
        }
    }
}

/// A client's part in connection state recovery: its private session id, the id it keeps across
/// reconnections, and where the broadcast log stood when it connected.
final class WsClientSession: Sendable {
    /// Private: only the client is told it (a guessed `pid` would take another's session).
    let pid: String
    /// The id of the client it continues (nil: a fresh client, whose id is its connection's).
    let id: String?
    let recovered: Bool
    /// Where its namespace's broadcast log on this instance stood when it connected here, and
    /// when it first connected (ms since 1970; with a shared store, ``WsSharedSession``).
    let joinedAt: Int
    let joinedAtTime: Int64

    init(pid: String, id: String?, recovered: Bool, joinedAt: Int, joinedAtTime: Int64) {
        self.pid = pid
        self.id = id
        self.recovered = recovered
        self.joinedAt = joinedAt
        self.joinedAtTime = joinedAtTime
    }

    /// 126 random bits, as 32 hex digits.
    static func newPID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64 | 1 << 63, radix: 16) + String(generator.next() as UInt64 | 1 << 63, radix: 16)
    }
}
