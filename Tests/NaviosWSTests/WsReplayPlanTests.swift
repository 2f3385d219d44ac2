import Testing
@testable import NaviosWS

/// Recovery across instances: which broadcasts of a shared log a returning client is given,
/// when the instance it was on delivered them in another order than the log holds them.
@Suite struct WsReplayPlanTests {
    /// A broadcast to room "r" of "/" with this offset.
    func broadcast(_ offset: String, room: String = "r", from sender: String? = nil) -> WsRecoveryStore.Broadcast {
        WsRecoveryStore.Broadcast(offset: offset, rooms: [WsRoomKey.room("/", room)], exceptRooms: [], exceptClient: sender,
                                  json: Array(offset.utf8), socketIO: nil, attachments: [], sentAt: .now)
    }

    func session(delivered: [String], all: Bool = false, joinedAt: Int64 = 0) -> WsSharedSession {
        WsSharedSession(id: "alice", namespace: "/", rooms: [WsRoomKey.everyone("/"), WsRoomKey.room("/", "r")], data: [:],
                        delivered: delivered, deliveredAll: all, joinedAt: joinedAt, droppedAt: 0)
    }

    /// Walks `log` (oldest first, as the store holds it; each at time = its index) newest first
    /// and returns the offsets replayed, or nil when the plan gives up.
    func replay(_ log: [WsRecoveryStore.Broadcast], _ session: WsSharedSession, offset: String?,
                maxReplayed: Int = 1000) -> [String]? {
        guard var plan = WsReplayPlan(session, offset: offset, maxReplayed: maxReplayed) else { return nil }
        for (index, broadcast) in log.enumerated().reversed() {
            let entry = WsSharedLogEntry(id: "\(index)-0", milliseconds: Int64(index), fields: [:])
            switch plan.take(entry, broadcast) {
            case .done: return plan.missedInOrder.map(\.offset)
            case .tooMany: return nil
            case .more: continue
            }
        }
        return plan.atOldest == .done ? plan.missedInOrder.map(\.offset) : nil
    }

    @Test func theBroadcastsAfterItsOffsetThatItsRoomsSelect() {
        let log = ["a:1", "b:1", "a:2", "b:2"].map { broadcast($0) } + [broadcast("a:3", room: "other"), broadcast("b:3", from: "alice")]
        #expect(replay(log, session(delivered: ["a:1", "b:1"]), offset: "b:1") == ["a:2", "b:2"])
    }

    /// Instance A delivered its own a:2 before b:1 reached it; the log holds b:1 first. Alice got
    /// a:2 (her offset) but not b:1: she is given b:1, and a:2 not again.
    @Test func aBroadcastItsInstanceDeliveredLateIsGivenAndOneItHadIsNotRepeated() {
        let log = ["a:1", "b:1", "a:2", "b:2"].map { broadcast($0) }
        let delivered = ["a:1", "a:2", "b:1"]   // A's order
        #expect(replay(log, session(delivered: delivered), offset: "a:2") == ["b:1", "b:2"])
        // Her offset b:1 (after a:2 on A): a:2 is not replayed though the log has it after b:1's
        // predecessor.
        #expect(replay(log, session(delivered: delivered), offset: "b:1") == ["b:2"])
    }

    @Test func anOffsetOlderThanItsInstanceListedIsFoundInTheLog() {
        let log = ["a:1", "a:2", "a:3", "a:4"].map { broadcast($0) }
        #expect(replay(log, session(delivered: ["a:3", "a:4"]), offset: "a:2") == ["a:3", "a:4"])
        #expect(replay(log, session(delivered: []), offset: "gone:1") == nil)   // not kept: fresh
    }

    @Test func withoutAnOffsetEverythingDeliveredSinceItJoinedIfItsInstanceListedItAll() {
        let log = ["a:1", "a:2", "a:3"].map { broadcast($0) }
        #expect(replay(log, session(delivered: ["a:2", "a:3"], all: true), offset: nil) == ["a:2", "a:3"])
        #expect(replay(log, session(delivered: ["a:2", "a:3"], all: false), offset: nil) == nil)
        // Nothing delivered: what the log got from its join on (times are indexes here).
        #expect(replay(log, session(delivered: [], all: true, joinedAt: 1), offset: nil) == ["a:2", "a:3"])
    }

    @Test func moreThanMayBeReplayedGivesUp() {
        let log = (0...5).map { broadcast("a:\($0)") }
        #expect(replay(log, session(delivered: ["a:0"]), offset: "a:0", maxReplayed: 5) == ["a:1", "a:2", "a:3", "a:4", "a:5"])
        #expect(replay(log, session(delivered: ["a:0"]), offset: "a:0", maxReplayed: 4) == nil)
    }

    /// What the instance a client was on lists for it: the last broadcasts its rooms selected
    /// since it connected, at least the minimum, and whether that is all of them.
    @Test func theDeliveredListOfADroppedClient() {
        let store = WsRecoveryStore(WsConnectionStateRecovery(), node: "n")
        func record(_ room: String, at time: ContinuousClock.Instant = .now) -> String {
            let offset = store.nextOffset()
            store.record(broadcast(offset, room: room).with(sentAt: time), namespace: "/")
            return offset
        }
        let before = record("r")
        let joinedAt = store.position(of: "/")
        let old = (0..<70).map { _ in record("r", at: .now - .seconds(10)) }
        _ = record("other")
        let recent = (0..<3).map { _ in record("r") }
        let saved = WsRecoveryStore.Session(id: "alice", namespace: "/", rooms: [WsRoomKey.room("/", "r")], data: WsClientData(),
                                            joinedAt: joinedAt, joinedAtTime: 0, droppedAt: .now)
        let (offsets, all) = store.delivered(to: saved)
        #expect(offsets == Array(old.suffix(WsSharedSession.deliveredMinimum - 3)) + recent)
        #expect(!all)
        #expect(!offsets.contains(before))
        let short = WsRecoveryStore.Session(id: "bob", namespace: "/", rooms: [WsRoomKey.room("/", "r")], data: WsClientData(),
                                            joinedAt: store.position(of: "/") - 3, joinedAtTime: 0, droppedAt: .now)
        #expect(store.delivered(to: short) == (recent, true))
    }
}

extension WsRecoveryStore.Broadcast {
    func with(sentAt time: ContinuousClock.Instant) -> Self {
        Self(offset: offset, rooms: rooms, exceptRooms: exceptRooms, exceptClient: exceptClient, json: json,
             socketIO: socketIO, attachments: attachments, sentAt: time)
    }
}
