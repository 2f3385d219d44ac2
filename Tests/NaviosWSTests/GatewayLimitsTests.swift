import NaviosDI
import Testing
@testable import NaviosWS

/// A gateway whose handlers join rooms and take maps, under small limits.
final class LimitsProbeGateway: WsGateway {
    init() {}

    static let gateway = WsGatewayDefinition<LimitsProbeGateway>(path: "/limits")
        .onMessage("join", String.self) { _, params -> Int in
            try params.client.join(params.payload)
            return params.client.rooms.count
        }
        .onMessage("numbers", [String: Int].self) { _, params in params.payload.count }
        .onMessage("ping", WsNoResponse.self) { _, _ in "pong" }
}

private let limitsConfig: WsConfig = {
    var config = testConfig(loopThreads: 1)
    config.maxRoomsPerClient = 3
    config.maxRoomNameBytes = 8
    config.maxEventNameBytes = 16
    return config
}()

final class LimitsProbeModule: Module {
    static var providers: [Provider] { [.token(provideWsService(limitsConfig)), .type(LimitsProbeGateway.self)] }
}

/// Each limit crossed gets `limit_exceeded`, the reply echoes a bounded part of what was sent,
/// and the client and the others go on being served.
@Suite(.serialized) struct GatewayLimitsTests {
    func start() async throws -> RunningApplication {
        try await RunningApplication(LimitsProbeModule.self)
    }

    @Test func anEventNameOverTheLimitIsAnsweredWithABoundedEcho() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/limits")
        let other = try TestClient(port: app.port, path: "/limits")
        // A million-byte name: the reply names its first 16 bytes, cut before the "é" that the
        // 16th byte would split.
        let name = String(repeating: "a", count: 15) + "é" + String(repeating: "b", count: 1_000_000)
        try client.emit(#"{"event":"\#(name)","id":1}"#)
        let reply = try client.next()
        #expect(reply == #"{"event":"aaaaaaaaaaaaaaa","error":{"code":"limit_exceeded","message":"the event name is longer than 16 bytes"},"ack":1}"#)
        // Within the limit, an unknown event is named as sent, once.
        try client.emit(#"{"event":"sixteen-bytes-ok","id":2}"#)
        #expect(try client.next() == #"{"event":"sixteen-bytes-ok","error":{"code":"unknown_event","message":"no handler for this event"},"ack":2}"#)
        try client.emit(#"{"event":"ping","id":3}"#)
        #expect(try client.next() == #"{"event":"ping","data":"pong","ack":3}"#)
        try other.emit(#"{"event":"ping","id":1}"#)
        #expect(try other.next() == #"{"event":"ping","data":"pong","ack":1}"#)
        await app.stop()
    }

    @Test func joinPastTheRoomLimitOrWithALongNameIsRefused() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/limits")
        for (id, room) in ["a", "b", "c"].enumerated() {
            try client.emit(#"{"event":"join","data":"\#(room)","id":\#(id)}"#)
            #expect(try client.next() == #"{"event":"join","data":\#(id + 1),"ack":\#(id)}"#)
        }
        try client.emit(#"{"event":"join","data":"d","id":7}"#)
        #expect(try client.next() == #"{"event":"join","error":{"code":"limit_exceeded","message":"a client may be in at most 3 rooms"},"ack":7}"#)
        try client.emit(#"{"event":"join","data":"a","id":8}"#)   // already in it: no new room
        #expect(try client.next() == #"{"event":"join","data":3,"ack":8}"#)
        let fresh = try TestClient(port: app.port, path: "/limits")
        try fresh.emit(#"{"event":"join","data":"123456789","id":1}"#)
        #expect(try fresh.next() == #"{"event":"join","error":{"code":"limit_exceeded","message":"the room name is longer than 8 bytes"},"ack":1}"#)
        try fresh.emit(#"{"event":"join","data":"12345678","id":2}"#)
        #expect(try fresh.next() == #"{"event":"join","data":1,"ack":2}"#)
        #expect(app.service.sockets.map { $0.rooms.count }.sorted() == [1, 3])
        await app.stop()
    }

    @Test func aPayloadErrorNamingHugeKeysGetsABoundedReply() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/limits")
        // A dictionary key is the client's own text, and the path of an issue names it.
        let longKey = String(repeating: "k", count: 100_000)
        let members = (0..<5).map { #""\#(longKey)\#($0)":"x""# }.joined(separator: ",")
        try client.emit(#"{"event":"numbers","data":{\#(members)},"id":1}"#)
        let reply = try client.next()
        #expect(reply.contains(#""code":"invalid_payload""#))
        let error = try Array(reply.utf8).withUnsafeBytes { try WsPayloadDecoding.decode(ErrorReply.self, from: $0) }.error
        #expect(error.issues.count <= WsPayloadError.maxIssues)
        #expect(error.issues.allSatisfy { $0.path.utf8.count <= WsPayloadError.maxPathBytes })
        #expect(reply.utf8.count < 4096)
        try client.emit(#"{"event":"numbers","data":{"a":1,"b":2},"id":2}"#)
        #expect(try client.next() == #"{"event":"numbers","data":2,"ack":2}"#)
        await app.stop()
    }

    @Test func aPayloadErrorKeepsItsFirstIssuesOnly() {
        let issues = (0..<1_000).map { WsValidationIssue(path: "items.\($0)", message: "must be at most 3") }
        let error = WsPayloadError(message: "payload failed validation", issues: issues)
        #expect(error.issues == Array(issues.prefix(WsPayloadError.maxIssues)))
        let accented = String(repeating: "é", count: 100)   // two bytes each: 128 falls between two
        #expect(WsPayloadError(message: "", issues: [.init(path: accented, message: "")]).issues[0].path
            == String(repeating: "é", count: 64))
        let odd = "x" + accented
        #expect(WsPayloadError(message: "", issues: [.init(path: odd, message: "")]).issues[0].path
            == "x" + String(repeating: "é", count: 63))
    }
}

private struct ErrorReply: Decodable, Sendable {
    var error: WsPayloadError
}
