/// Connection state recovery across instances: a dropped client's session as any instance can
/// read it, and how its missed broadcasts are found in the namespace's shared log.
///
/// The shared log holds each kept broadcast once, appended by the instance that sent it, in the
/// order the store received them. The instance a client was on delivered them in its own
/// order, which differs from the log's only for broadcasts sent from different instances
/// within one round trip to the store (each instance delivers its own broadcasts at once,
/// others' when they arrive). So the client's offset alone cannot say exactly which of those it
/// had: its session also carries the offsets its instance last delivered it, in that
/// instance's order (``delivered``), and a recovery replays every broadcast of the log from the
/// oldest of them on that the client's rooms select and that is not among those up to its
/// offset. Nothing is replayed twice and nothing missed is left out, unless the two orders
/// differ by more than ``WsSharedSession/deliveredWindow``.
struct WsSharedSession: Codable, Sendable, Equatable {
    var id: String
    var namespace: String
    /// Room keys (its namespace's own included).
    var rooms: [String]
    /// Its `data`: the entries that encode as JSON.
    var data: [String: WsJSONValue]
    /// Offsets of the last broadcasts its instance delivered it, oldest first: at least the
    /// last ``deliveredMinimum``, and every one of the last ``deliveredWindow``, up to one more
    /// than a recovery may replay.
    var delivered: [String]
    /// Whether ``delivered`` holds every kept broadcast delivered to it since it connected.
    var deliveredAll: Bool
    /// When it connected and when its connection dropped, in ms since 1970.
    var joinedAt: Int64
    var droppedAt: Int64

    static let deliveredMinimum = 64
    static let deliveredWindow: Duration = .seconds(2)

    /// The store key of the session saved under `pid`; the shared log of `namespace`.
    static func key(pid: String) -> String { "p#" + pid }
    static func log(of namespace: String) -> String { "s#" + namespace }
}

/// How a recovery walks a namespace's shared log, newest first, until it has every broadcast a
/// returning client may have missed (see ``WsSharedSession``).
struct WsReplayPlan {
    /// Where the walk stops: just after the entry with this offset, at it (it was delivered but
    /// not received), or at the first entry older than a time (ms since 1970).
    enum Anchor: Equatable {
        case after(String)
        case from(String)
        case since(Int64)
    }

    let anchor: Anchor
    /// Offsets the client had: not replayed.
    let received: Set<String>

    /// The plan for a client that comes back with `offset` (its last broadcast; nil: it got
    /// none); nil when its session cannot tell what it missed.
    init?(_ session: WsSharedSession, offset: String?, maxReplayed: Int) {
        self.session = session
        rooms = Set(session.rooms)
        self.maxReplayed = maxReplayed
        if let offset {
            if let position = session.delivered.firstIndex(of: offset) {
                anchor = .after(session.delivered[0])
                received = Set(session.delivered[...position])
            } else {
                // Older than what its instance listed (it stalled or idled): from its offset.
                anchor = .after(offset)
                received = []
            }
        } else {
            // It got nothing: everything delivered since it joined is missed, so the list must
            // reach back to its join.
            guard session.deliveredAll else { return nil }
            anchor = session.delivered.first.map(Anchor.from) ?? .since(session.joinedAt)
            received = []
        }
    }

    /// What the walk found so far, newest first.
    private(set) var missed: [WsRecoveryStore.Broadcast] = []
    private let session: WsSharedSession
    private let rooms: Set<String>
    private let maxReplayed: Int

    enum Step: Equatable {
        /// Read the next (older) entries.
        case more
        /// The anchor was reached: ``missedInOrder`` is complete.
        case done
        /// It missed more than may be replayed.
        case tooMany
    }

    /// Takes the next entry of the walk, newest first, with its broadcast (nil: not one).
    mutating func take(_ entry: WsSharedLogEntry, _ broadcast: WsRecoveryStore.Broadcast?) -> Step {
        let offset = broadcast?.offset
        let reached: Bool
        var included = true
        switch anchor {
        case .after(let anchor):
            reached = offset == anchor
            included = !reached
        case .from(let anchor):
            reached = offset == anchor
        case .since(let time):
            reached = entry.milliseconds < time
            included = !reached
        }
        if included, let broadcast, !received.contains(broadcast.offset), broadcast.selects(session.id, in: rooms) {
            missed.append(broadcast)
            if missed.count > maxReplayed { return .tooMany }
        }
        return reached ? .done : .more
    }

    /// The end of the log was reached: a time anchor is reached by passing it (.done); an offset
    /// must be found (.tooMany: what it missed cannot be told).
    var atOldest: Step {
        if case .since = anchor { return .done }
        return .tooMany
    }

    var missedInOrder: [WsRecoveryStore.Broadcast] { missed.reversed() }
}
