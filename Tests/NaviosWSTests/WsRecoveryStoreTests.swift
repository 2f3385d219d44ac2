import Testing
@testable import NaviosWS

/// Connection state recovery's store: what a returning client gets, and its bounds.
@Suite struct WsRecoveryStoreTests {
    func store(_ configure: (inout WsConnectionStateRecovery) -> Void = { _ in }) -> WsRecoveryStore {
        var settings = WsConnectionStateRecovery()
        configure(&settings)
        return WsRecoveryStore(settings, node: "n")
    }

    /// A broadcast to `rooms` of namespace "/" (room keys as the runtime makes them).
    @discardableResult
    func broadcast(_ store: WsRecoveryStore, _ rooms: [String], except: [String] = [], from sender: String? = nil,
                   at time: ContinuousClock.Instant = .now) -> String {
        let offset = store.nextOffset()
        store.record(WsRecoveryStore.Broadcast(
            offset: offset, rooms: rooms.map { WsRoomKey.room("/", $0) }, exceptRooms: except.map { WsRoomKey.room("/", $0) },
            exceptClient: sender, json: Array(offset.utf8), socketIO: nil, attachments: [], sentAt: time), namespace: "/")
        return offset
    }

    func session(_ store: WsRecoveryStore, id: String = "c1", rooms: [String], joinedAt: Int = 0,
                 droppedAt: ContinuousClock.Instant = .now) -> WsRecoveryStore.Session {
        WsRecoveryStore.Session(id: id, namespace: "/", rooms: Set(rooms.map { WsRoomKey.room("/", $0) } + [WsRoomKey.everyone("/")]),
                                data: WsClientData(), joinedAt: joinedAt, joinedAtTime: 0, droppedAt: droppedAt)
    }

    func offsets(_ missed: [WsRecoveryStore.Broadcast]) -> [String] { missed.map(\.offset) }

    @Test func aClientGetsWhatItsRoomsGotAfterItsOffsetInOrder() throws {
        let store = store()
        let seen = broadcast(store, ["a"])
        store.save(session(store, rooms: ["a"]), pid: "p")
        let first = broadcast(store, ["a"])
        broadcast(store, ["b"])                         // not its room
        broadcast(store, ["a"], except: ["a"])          // excluded
        broadcast(store, ["a"], from: "c1")             // its own
        let everyone = store.nextOffset()
        store.record(.init(offset: everyone, rooms: [WsRoomKey.everyone("/")], exceptRooms: [], exceptClient: nil, json: [],
                           socketIO: nil, attachments: [], sentAt: .now), namespace: "/")
        let (saved, missed) = try #require(store.take(pid: "p", namespace: "/", offset: seen))
        #expect(saved.id == "c1")
        #expect(offsets(missed) == [first, everyone])
    }

    @Test func aSessionIsTakenOnceForItsOwnNamespaceWithinTheWindow() {
        let store = store { $0.maxDisconnectionDuration = .seconds(10) }
        store.save(session(store, rooms: []), pid: "p")
        #expect(store.take(pid: "forged", namespace: "/", offset: nil) == nil)
        #expect(store.take(pid: "p", namespace: "/other", offset: nil) == nil)   // and it stays
        #expect(store.take(pid: "p", namespace: "/", offset: nil) != nil)
        #expect(store.take(pid: "p", namespace: "/", offset: nil) == nil)
        store.save(session(store, rooms: [], droppedAt: .now - .seconds(11)), pid: "late")
        #expect(store.take(pid: "late", namespace: "/", offset: nil) == nil)
    }

    @Test func anOffsetNoLongerKeptOrNeverKeptGetsNothing() {
        let store = store { $0.maxBufferedBroadcasts = 3 }
        let old = broadcast(store, ["a"])
        for _ in 0..<3 { broadcast(store, ["a"]) }   // the first is dropped
        store.save(session(store, rooms: ["a"]), pid: "p")
        #expect(store.take(pid: "p", namespace: "/", offset: old) == nil)
        store.save(session(store, rooms: ["a"]), pid: "q")
        #expect(store.take(pid: "q", namespace: "/", offset: "other:1") == nil)
    }

    @Test func withoutAnOffsetAClientGetsEverythingSinceItJoined() throws {
        let store = store()
        broadcast(store, ["a"])
        let joined = store.position(of: "/")
        let after = broadcast(store, ["a"])
        store.save(session(store, rooms: ["a"], joinedAt: joined), pid: "p")
        let (_, missed) = try #require(store.take(pid: "p", namespace: "/", offset: nil))
        #expect(offsets(missed) == [after])
    }

    @Test func tooManyMissedStartsAfresh() {
        let store = store { $0.maxReplayed = 2 }
        let seen = broadcast(store, ["a"])
        for _ in 0..<3 { broadcast(store, ["a"]) }
        store.save(session(store, rooms: ["a"]), pid: "p")
        #expect(store.take(pid: "p", namespace: "/", offset: seen) == nil)
    }

    @Test func theLogIsBoundedByBytesAndByTheWindow() throws {
        let bytes = store { $0.maxBufferedBytes = 10 }
        let first = broadcast(bytes, ["a"])    // each weighs its offset's length, "n:1"...
        for _ in 0..<5 { broadcast(bytes, ["a"]) }
        bytes.save(session(bytes, rooms: ["a"]), pid: "p")
        #expect(bytes.take(pid: "p", namespace: "/", offset: first) == nil)
        let window = store { $0.maxDisconnectionDuration = .seconds(60) }
        let early = broadcast(window, ["a"], at: .now - .seconds(120))
        broadcast(window, ["a"])
        window.save(session(window, rooms: ["a"]), pid: "p")
        #expect(window.take(pid: "p", namespace: "/", offset: early) == nil)
    }

    @Test func sessionsAreBoundedOldestFirst() {
        let store = store { $0.maxSessions = 2 }
        for pid in ["a", "b", "c"] { store.save(session(store, rooms: []), pid: pid) }
        #expect(store.take(pid: "a", namespace: "/", offset: nil) == nil)
        #expect(store.take(pid: "b", namespace: "/", offset: nil) != nil)
        #expect(store.take(pid: "c", namespace: "/", offset: nil) != nil)
    }
}
