import Testing
@testable import NaviosWS

/// The bytes instances exchange: every kind survives the trip, and anything else (truncated,
/// foreign, corrupt) decodes to nil rather than to a wrong message.
struct ClusterWireTests {
    let broadcast = WsClusterBroadcast(rooms: ["/chat\u{1F}general", "/chat\u{1F}ünïcode"], exceptRooms: ["/chat\u{1F}muted"],
                                       volatile: true, envelope: Array(#"{"event":"msg","data":{"text":"hi\u0000"}}"#.utf8))

    func decode(_ bytes: [UInt8]) -> WsClusterWire.Message? { bytes.withUnsafeBytes { WsClusterWire.decode($0) } }

    @Test func broadcastSurvivesTheTrip() {
        let bytes = WsClusterWire.encode(broadcast: broadcast, from: "node1")
        #expect(decode(bytes) == .broadcast(from: "node1", broadcast))
    }

    @Test func requestsAndRepliesSurviveTheTrip() throws {
        let selection = WsClusterSelection(namespace: "/chat", rooms: ["a"], exceptRooms: ["b"], ids: ["x-1"])
        let requests: [WsClusterRequest] = [
            .fetchSockets(selection), .countSockets(selection), .rooms(namespace: nil), .socketsJoin(selection, rooms: ["c"]),
            .socketsLeave(selection, rooms: ["c"]), .disconnectSockets(selection), .disconnectSockets(selection, close: true), .emit(selection, envelope: "{}"),
            .serverSideEmit(namespace: "/chat", event: "ping", data: "\"x\"", wantsAck: true),
        ]
        for (index, request) in requests.enumerated() {
            let bytes = try WsClusterWire.encode(request: request, id: UInt64(index) << 40 | 7, from: "n")
            #expect(decode(bytes) == .request(from: "n", id: UInt64(index) << 40 | 7, request))
        }
        let replies: [WsClusterReply] = [.count(3), .rooms(["a": 2]), .ack(nil), .ack("[1]"), .sockets([])]
        for reply in replies {
            #expect(decode(try WsClusterWire.encode(reply: reply, id: 9, from: "m")) == .reply(from: "m", id: 9, reply))
        }
    }

    @Test func everyTruncatedBroadcastHeaderIsRefused() {
        let bytes = WsClusterWire.encode(broadcast: broadcast, from: "node1")
        let headerLength = bytes.count - broadcast.envelope.count
        for length in 0..<headerLength {
            #expect(decode(Array(bytes[..<length])) == nil, "prefix of \(length) bytes")
        }
    }

    @Test func foreignAndCorruptMessagesAreRefused() throws {
        #expect(decode(Array("hello from another application".utf8)) == nil)
        #expect(decode([]) == nil)
        var wrongVersion = WsClusterWire.encode(broadcast: broadcast, from: "n")
        wrongVersion[4] = 2
        #expect(decode(wrongVersion) == nil)
        var unknownFlag = WsClusterWire.encode(broadcast: broadcast, from: "n")
        unknownFlag[7] = 0x80   // magic(4) version(1) node length(1) "n"(1) flags
        #expect(decode(unknownFlag) == nil)
        var badUTF8 = WsClusterWire.encode(broadcast: WsClusterBroadcast(rooms: ["ab"], envelope: []), from: "n")
        badUTF8[badUTF8.count - 7] = 0xFF   // the first byte of the room name "ab"
        #expect(decode(badUTF8) == nil)
        var badJSON = try WsClusterWire.encode(request: .rooms(namespace: nil), id: 1, from: "n")
        badJSON.removeLast()
        #expect(decode(badJSON) == nil)
        let noRooms = WsClusterWire.encode(broadcast: WsClusterBroadcast(rooms: [], envelope: [1]), from: "n")
        #expect(decode(noRooms) == nil)
    }
}
