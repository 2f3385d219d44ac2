import Synchronization
import Testing
@testable import NaviosWS
@testable import NaviosWSCore

/// Records what the engine reported and echoes text when asked to.
final class RecordingHandler: WsEngineHandler {
    struct Events {
        var opened: [WsConnectionID] = []
        var requests: [WsUpgradeRequest] = []
        var texts: [String] = []
        var binaries: [[UInt8]] = []
        var closes: [(WsConnectionID, WsCloseCode, String)] = []
        var roomEvents: [String] = []
        /// The rooms each closing connection was in as its onClose ran.
        var roomsAtClose: [[String]] = []
    }
    /// Set once the engine exists, to read its rooms from onClose.
    nonisolated(unsafe) weak var engine: WsEngine?   // written before any connection opens
    let events = Mutex(Events())
    let echo: Bool

    init(echo: Bool = true) { self.echo = echo }

    func onOpen(_ connection: borrowing WsConnection, request: WsUpgradeRequest) {
        events.withLock {
            $0.opened.append(connection.id)
            $0.requests.append(request)
        }
    }

    func onText(_ connection: borrowing WsConnection, _ text: UnsafeRawBufferPointer) {
        events.withLock { $0.texts.append(String(decoding: text, as: UTF8.self)) }
        if echo { try? connection.send(text: text) }
    }

    func onBinary(_ connection: borrowing WsConnection, _ data: UnsafeRawBufferPointer) {
        events.withLock { $0.binaries.append(Array(data)) }
        if echo { try? connection.send(binary: data) }
    }

    func onClose(_ connection: borrowing WsConnection, code: WsCloseCode, reason: String) {
        let rooms = engine?.rooms(of: connection.id)?.sorted() ?? []
        events.withLock {
            $0.closes.append((connection.id, code, reason))
            $0.roomsAtClose.append(rooms)
        }
    }

    func onRoom(_ room: String, present: Bool) {
        events.withLock { $0.roomEvents.append((present ? "+" : "-") + room) }
    }

    /// Polls until `condition` holds (the engine reports on its own threads).
    func wait(_ what: String, _ condition: (Events) -> Bool) async throws {
        for _ in 0..<500 {
            if events.withLock({ condition($0) }) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(what)")
    }
}

@Suite(.serialized) struct EngineTests {
    static let backends = testedBackends

    @Test(.disabled(if: !WsEngineConfiguration.Backend.ioUring.isAvailable,
                    "io_uring cannot be set up here: the engine tests run on epoll only"))
    func ioUringCasesRun() {
        #expect(Self.backends.contains(.ioUring))
    }

    @Test(arguments: backends)
    func openReportsPathQueryAndHeaders(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler()
        let engine = try await startEngine(backend, handler)
        #expect(engine.backend == backend)
        let client = try TestClient(port: engine.port, path: "/chat?token=abc%21", headers: ["X-Trace: 7"])
        try await handler.wait("open") { $0.opened.count == 1 }
        let request = try #require(handler.events.withLock { $0.requests.first })
        #expect(request.path == "/chat")
        #expect(request.queryItems.first?.value == "abc!")
        #expect(request.header("x-trace") == "7")
        _ = client
        await stop(engine)
    }

    @Test(arguments: backends)
    func textAndBinaryAreEchoedFromTheLoopThread(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler()
        let engine = try await startEngine(backend, handler)
        let client = try TestClient(port: engine.port)
        try client.send(text: "héllo")
        #expect(try client.receive().text == "héllo")
        try client.send(opcode: 2, [0, 1, 2, 255])
        #expect(try client.receive().payload == [0, 1, 2, 255])
        let big = [UInt8](repeating: 7, count: 200_000)
        try client.send(opcode: 2, big)
        #expect(try client.receive().payload == big)
        #expect(engine.statistics.messagesIn == 3)
        await stop(engine)
    }

    @Test(arguments: backends)
    func sendFromAnotherThreadReachesTheClient(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)
        let client = try TestClient(port: engine.port)
        try await handler.wait("open") { $0.opened.count == 1 }
        let id = try #require(handler.events.withLock { $0.opened.first })
        #expect(engine.currentLoop == nil)
        try await Task.detached { try engine.send(to: id, text: "from a task") }.value
        #expect(try client.receive().text == "from a task")
        await stop(engine)
    }

    @Test(arguments: backends)
    func broadcastIsFramedOnceAndReachesEveryId(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)
        let clients = try (0..<6).map { _ in try TestClient(port: engine.port) }
        try await handler.wait("six opens") { $0.opened.count == 6 }
        let ids = handler.events.withLock { $0.opened }
        // Connections spread over both loops, so the broadcast crosses threads.
        let message = try WsPreparedMessage(text: "to all")
        #expect(engine.broadcast(message, to: ids) == 6)
        for client in clients { #expect(try client.receive().text == "to all") }
        await stop(engine)
    }

    @Test(arguments: backends)
    func serverCloseSendsTheCodeAndReportsIt(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)
        let client = try TestClient(port: engine.port)
        try await handler.wait("open") { $0.opened.count == 1 }
        let id = try #require(handler.events.withLock { $0.opened.first })
        try engine.close(id, code: 4000, reason: "bye")
        let frame = try client.receive()
        #expect(frame.closeCode == 4000)
        try await handler.wait("close") { $0.closes.count == 1 }
        #expect(handler.events.withLock { $0.closes.first?.1 } == 4000)
        await stop(engine)
    }

    @Test(arguments: backends)
    func clientCloseIsEchoedAndReported(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)
        let client = try TestClient(port: engine.port)
        try client.send(opcode: 8, [0x0f, 0xa1] + Array("done".utf8))   // 4001
        #expect(try client.receive().closeCode == 4001)
        try await handler.wait("close") { $0.closes.count == 1 }
        let close = try #require(handler.events.withLock { $0.closes.first })
        #expect(close.1 == 4001 && close.2 == "done")
        await stop(engine)
    }

    @Test(arguments: backends)
    func staleIdIsRefusedOnItsLoop(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)
        do {
            let client = try TestClient(port: engine.port)
            try client.send(opcode: 8, [0x03, 0xe8])
            _ = try client.receive()
        }
        try await handler.wait("close") { $0.closes.count == 1 }
        let id = try #require(handler.events.withLock { $0.opened.first })
        let outcome = Mutex<WsCoreError?>(nil)
        let done = Mutex(false)
        try engine.post(toLoop: id.loop) {
            do throws(WsCoreError) {
                try engine.send(to: id, text: "late")
            } catch {
                outcome.withLock { $0 = error }
            }
            done.withLock { $0 = true }
        }
        try await pollUntil { done.withLock { $0 } }
        let error = outcome.withLock { $0 }
        #expect(error == .stale || error == .closed)
        await stop(engine)
    }

    @Test(arguments: backends)
    func cancellingTheRunSendsGoingAwayAndStops(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        var configuration = WsEngineConfiguration()
        configuration.backend = backend
        configuration.loopThreads = 2
        configuration.shutdownDrain = .seconds(2)
        let engine = try WsEngine(configuration: configuration, handler: handler)
        let run = Task { try await engine.run() }
        let client = try TestClient(port: try await engine.listeningPort)
        try await handler.wait("open") { $0.opened.count == 1 }
        run.cancel()
        #expect(try client.receive().closeCode == 1001)
        try client.send(opcode: 8, [0x03, 0xe9])
        try await run.value
        #expect(engine.statistics.connectionsOpen == 0)
        await #expect(throws: WsCoreError.closed) { try await engine.listeningPort }
        await #expect(throws: WsCoreError.closed) { try await engine.run() }   // an engine runs once
    }

    @Test func subprotocolIsTheServersFirstChoiceAmongThoseOffered() async throws {
        let handler = RecordingHandler()
        let engine = try await startEngine(.auto, handler) { $0.subprotocols = ["v2.chat", "chat"] }
        let both = try TestClient(port: engine.port, headers: ["Sec-WebSocket-Protocol: chat, v2.chat"])
        #expect(both.responseHead.contains("Sec-WebSocket-Protocol: v2.chat\r\n"))
        let one = try TestClient(port: engine.port, headers: ["Sec-WebSocket-Protocol: superchat, chat"])
        #expect(one.responseHead.contains("Sec-WebSocket-Protocol: chat\r\n"))
        let none = try TestClient(port: engine.port, headers: ["Sec-WebSocket-Protocol: mqtt"])
        #expect(!none.responseHead.contains("Sec-WebSocket-Protocol"))
        try await handler.wait("three opens") { $0.requests.count == 3 }
        let chosen = handler.events.withLock { $0.requests.map(\.subprotocol) }
        #expect(Set(chosen.map { $0 ?? "-" }) == ["v2.chat", "chat", "-"])
        await stop(engine)
    }

    @Test func originAllowListRefusesOthersWith403() async throws {
        let handler = RecordingHandler()
        let engine = try await startEngine(.auto, handler) { $0.allowedOrigins = ["https://good.example"] }
        _ = try TestClient(port: engine.port, headers: ["Origin: https://good.example"])
        #expect(throws: TestClientError.self) {
            _ = try TestClient(port: engine.port, headers: ["Origin: https://evil.example"])
        }
        #expect(engine.statistics.upgradesRefused == 1)
        await stop(engine)
    }
}

@Suite(.serialized) struct EngineRoomTests {
    @Test(arguments: EngineTests.backends)
    func roomBroadcastReachesMembersOnceAndHonoursExclusions(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)
        let clients = try (0..<5).map { _ in try TestClient(port: engine.port) }
        try await handler.wait("five opens") { $0.opened.count == 5 }
        let ids = handler.events.withLock { $0.opened }
        // Which client has which id: each one is told its id by a direct send.
        var clientOf: [WsConnectionID: TestClient] = [:]
        for id in ids {
            var text = "id:\(id.rawValue)"
            try text.withUTF8 { try engine.send(to: id, opcode: .text, UnsafeRawBufferPointer($0)) }
        }
        for client in clients {
            let text = try client.receive().text
            let raw = UInt64(text.dropFirst(3))!
            clientOf[WsConnectionID(rawValue: raw)] = client
        }
        let (a, b, c, d, e) = (ids[0], ids[1], ids[2], ids[3], ids[4])
        try engine.join(a, room: "red")
        try engine.join(b, room: "red")
        try engine.join(b, room: "blue")     // in both rooms: must still get one copy
        try engine.join(c, room: "blue")
        try engine.join(d, room: "blue")
        try engine.join(d, room: "muted")    // excluded by room
        try engine.join(a, room: "red")      // idempotent
        // No wait: a loop runs what one thread posts to it in order, so each loop's share of
        // the broadcast below comes after the joins this thread posted to it (nws_rooms.h).
        try engine.broadcast(try WsPreparedMessage(text: "hello rooms"), toRooms: ["red", "blue"],
                             except: ["muted"], exceptID: c)
        // a and b get it exactly once; c (excepted id), d (muted) and e (no room) do not.
        try engine.broadcast(try WsPreparedMessage(text: "marker"), toRooms: [])
        #expect(try clientOf[a]!.receive().text == "hello rooms")
        #expect(try clientOf[a]!.receive().text == "marker")
        #expect(try clientOf[b]!.receive().text == "hello rooms")
        #expect(try clientOf[b]!.receive().text == "marker")
        for id in [c, d, e] { #expect(try clientOf[id]!.receive().text == "marker") }
        await stop(engine)
    }

    @Test(arguments: EngineTests.backends)
    func leavingAndClosingRemoveMembers(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler) { $0.loopThreads = 1 }
        let first = try TestClient(port: engine.port)
        var second: TestClient? = try TestClient(port: engine.port)
        try await handler.wait("two opens") { $0.opened.count == 2 }
        let ids = handler.events.withLock { $0.opened }
        for id in ids { try engine.join(id, room: "lobby") }
        try engine.leave(ids[0], room: "lobby")
        second = nil                                     // the second client disconnects
        try await handler.wait("close") { $0.closes.count == 1 }
        try engine.broadcast(try WsPreparedMessage(text: "anyone?"), toRooms: ["lobby"])
        try engine.broadcast(try WsPreparedMessage(text: "marker"), toRooms: [])
        #expect(try first.receive().text == "marker")   // left the room: only the marker
        let size = await withCheckedContinuation { (answer: CheckedContinuation<Int, Never>) in
            try? engine.post(toLoop: 0) { answer.resume(returning: engine.localRoomSize("lobby")) }
        }
        #expect(size == 0)
        _ = second
        await stop(engine)
    }

    @Test(arguments: EngineTests.backends)
    func theIndexAnnouncesFirstAndLastMembersAndAnswersReaders(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler)   // two loops
        handler.engine = engine
        // Connections until both loops have some (the kernel spreads them): the index is read
        // across loops. Then the first four.
        var clients: [TestClient] = []
        var opened: [WsConnectionID] = []
        while clients.count < 4 || Set(opened.map(\.loop)).count < 2, clients.count < 64 {
            clients.append(try TestClient(port: engine.port))
            try await handler.wait("an open") { $0.opened.count == clients.count }
            opened = handler.events.withLock { $0.opened }
        }
        try #require(Set(opened.map(\.loop)).count == 2, "connections on both loops")
        let loopOf0 = opened[0].loop
        let other = try #require(opened.first { $0.loop != loopOf0 })
        let ids = [opened[0], other] + opened.filter { $0 != opened[0] && $0 != other }.prefix(2)
        for id in opened { try engine.join(id, room: "all") }
        try engine.join(ids[0], room: "pair")
        try engine.join(ids[1], room: "pair")
        // Joins from this thread are posted: wait until the index has them all.
        let everyone = opened.count
        try await pollUntil { engine.roomSizes == ["all": everyone, "pair": 2] }
        #expect(engine.roomSizes == ["all": everyone, "pair": 2])
        #expect(Set(engine.members(ofRoom: "pair")) == [ids[0], ids[1]])
        #expect(engine.rooms(of: ids[0])?.sorted() == ["all", "pair"])
        #expect(engine.rooms(of: ids[3]) == ["all"])
        #expect(handler.events.withLock { $0.roomEvents.sorted() } == ["+all", "+pair"], "each room announced once")
        // The first member of "pair" leaves, then its second closes: the room's last member.
        try engine.leave(ids[0], room: "pair")
        try engine.close(ids[1])
        try await handler.wait("close") { $0.closes.count == 1 }
        #expect(handler.events.withLock { $0.roomsAtClose } == [["all", "pair"]], "onClose still sees the rooms")
        try await pollUntil { engine.roomSizes == ["all": everyone - 1] }
        #expect(engine.roomSizes == ["all": everyone - 1])
        #expect((engine.rooms(of: ids[1]) ?? []).isEmpty, "a closing connection is in no room")
        #expect(handler.events.withLock { $0.roomEvents.sorted() } == ["+all", "+pair", "-pair"])
        _ = clients
        await stop(engine)
    }

    @Test(arguments: EngineTests.backends)
    func aJoinPastTheConfiguredLimitIsRefused(backend: WsEngineConfiguration.Backend) async throws {
        let handler = RecordingHandler(echo: false)
        let engine = try await startEngine(backend, handler) { $0.maxRoomsPerConnection = 2 }
        let client = try TestClient(port: engine.port)
        try await handler.wait("open") { $0.opened.count == 1 }
        let id = try #require(handler.events.withLock { $0.opened.first })
        let outcomes = await withCheckedContinuation { (answer: CheckedContinuation<[WsCoreError?], Never>) in
            try? engine.post(toLoop: id.loop) {   // on the connection's loop, a join answers at once
                answer.resume(returning: ["a", "b", "c", "a"].map { room in
                    do throws(WsCoreError) { try engine.join(id, room: room); return nil } catch { return error }
                })
            }
        }
        #expect(outcomes == [nil, nil, .limitExceeded, nil])
        #expect(engine.rooms(of: id)?.sorted() == ["a", "b"])
        _ = client
        await stop(engine)
    }
}
