import Synchronization

/// What connection state recovery keeps on this instance (``WsConnectionStateRecovery``): each
/// namespace's broadcasts since the oldest still needed, each with its offset and selection,
/// and the sessions of dropped connections by `pid`. Bounded; the oldest go first.
final class WsRecoveryStore: Sendable {
    /// A broadcast as it was sent: who it was for, and its encodings (offset included).
    struct Broadcast: Sendable {
        let offset: UInt64
        let rooms: [String]
        let exceptRooms: [String]
        /// The id of the client it excluded (its sender), if any.
        let exceptClient: String?
        let json: [UInt8]
        let socketIO: [UInt8]?
        let attachments: [[UInt8]]
        let sentAt: ContinuousClock.Instant
        var bytes: Int { json.count + (socketIO?.count ?? 0) + attachments.reduce(0) { $0 + $1.count } }
    }

    /// A dropped connection's client, as it will come back.
    struct Session: Sendable {
        let id: String
        let namespace: String
        /// Room keys (its namespace's own included).
        let rooms: Set<String>
        let data: WsClientData
        /// The log's last offset when the client connected: without an offset, it got nothing
        /// after this.
        let joinedAfter: UInt64
        let droppedAt: ContinuousClock.Instant
    }

    private struct Log {
        var broadcasts: [Broadcast] = []
        /// Where the live part of `broadcasts` starts (dropped ones are compacted away in bulk).
        var start = 0
        var bytes = 0
        /// Offsets up to this one may have been dropped: a client behind it cannot recover.
        var droppedThrough: UInt64 = 0
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
    private let state = Mutex(State())

    init(_ settings: WsConnectionStateRecovery) {
        self.settings = settings
    }

    /// The offset the next broadcast will have.
    func nextOffset() -> UInt64 {
        state.withLock { state in
            state.lastOffset += 1
            return state.lastOffset
        }
    }

    var lastOffset: UInt64 { state.withLock { $0.lastOffset } }

    /// Keeps a broadcast of `namespace` for replay, dropping the oldest past the bounds.
    func record(_ broadcast: Broadcast, namespace: String) {
        state.withLock { state in
            var log = state.logs[namespace] ?? Log()
            log.broadcasts.append(broadcast)
            log.bytes += broadcast.bytes
            // Past the bounds, or older than any session could need.
            while log.broadcasts.count - log.start > settings.maxBufferedBroadcasts
                || (log.bytes > settings.maxBufferedBytes && log.broadcasts.count - log.start > 1)
                || broadcast.sentAt - log.broadcasts[log.start].sentAt > settings.maxDisconnectionDuration {
                let dropped = log.broadcasts[log.start]
                log.bytes -= dropped.bytes
                log.droppedThrough = dropped.offset
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
            let after: UInt64
            if let offset {
                guard let parsed = UInt64(offset, radix: 16), parsed <= state.lastOffset else { return nil }
                after = parsed
            } else {
                after = session.joinedAfter
            }
            let log = state.logs[namespace] ?? Log()
            guard after >= log.droppedThrough else { return nil }   // some it missed are gone
            var missed: [Broadcast] = []
            for broadcast in log.broadcasts[log.start...] where broadcast.offset > after {
                guard broadcast.exceptClient != session.id, broadcast.rooms.contains(where: session.rooms.contains),
                      !broadcast.exceptRooms.contains(where: session.rooms.contains) else { continue }
                missed.append(broadcast)
                if missed.count > settings.maxReplayed { return nil }
            }
            return (session, missed)
        }
    }

    /// Offsets as clients see them.
    static func text(_ offset: UInt64) -> String { String(offset, radix: 16) }
}

/// A client's part in connection state recovery: its private session id, the id it keeps across
/// reconnections, and where the broadcast log stood when it connected.
final class WsClientSession: Sendable {
    /// Private: only the client is told it (a guessed `pid` would take another's session).
    let pid: String
    /// The id of the client it continues (nil: a fresh client, whose id is its connection's).
    let id: String?
    let recovered: Bool
    let joinedAfter: UInt64

    init(pid: String, id: String?, recovered: Bool, joinedAfter: UInt64) {
        self.pid = pid
        self.id = id
        self.recovered = recovered
        self.joinedAfter = joinedAfter
    }

    /// 126 random bits, as 32 hex digits.
    static func newPID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64 | 1 << 63, radix: 16) + String(generator.next() as UInt64 | 1 << 63, radix: 16)
    }
}
