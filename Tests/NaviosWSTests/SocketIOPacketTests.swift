import NaviosJSON
import Testing
@testable import NaviosWS

/// Socket.IO v5 packets as clients send them (the official protocol suite's among them), read
/// in place; and what the protocol's parser refuses, refused.
struct SocketIOPacketTests {
    func parse(_ text: String) throws -> SocketIOPacket {
        try Array(text.utf8).withUnsafeBytes { try SocketIOPacket.parse($0) }
    }

    func text(_ source: String, _ range: Range<Int>?) -> String? {
        range.map { String(decoding: Array(source.utf8)[$0], as: UTF8.self) }
    }

    @Test func connectPacketsNameTheirNamespaceAndCarryTheAuth() throws {
        #expect(try parse("0") == SocketIOPacket(kind: .connect))
        let auth = #"0{"token":"123"}"#
        let withAuth = try parse(auth)
        #expect(withAuth.namespace == nil && text(auth, withAuth.payload) == #"{"token":"123"}"#)
        let custom = "0/custom,"
        #expect(text(custom, try parse(custom).namespace) == "/custom")
        let customAuth = #"0/custom,{"token":"abc"}"#
        let parsed = try parse(customAuth)
        #expect(text(customAuth, parsed.namespace) == "/custom" && text(customAuth, parsed.payload) == #"{"token":"abc"}"#)
        // A namespace may end the packet without its comma (the suite's "40/random").
        #expect(text("0/random", try parse("0/random").namespace) == "/random")
        #expect(try parse("0/,").namespace == nil)   // "/" is the main namespace
    }

    @Test func disconnectPacketsCarryNothing() throws {
        #expect(try parse("1") == SocketIOPacket(kind: .disconnect))
        #expect(text("1/custom,", try parse("1/custom,").namespace) == "/custom")
        #expect(throws: SocketIOPacket.Failure.payloadShape) { try parse("1{}") }
    }

    @Test func eventsHaveTheirNameFirstAndAnyNumberOfArguments() throws {
        let source = #"2["message",1,"2",{"3":[true]}]"#
        let event = try parse(source)
        #expect(event.kind == .event && event.ackID == nil)
        let json = Array(Array(source.utf8)[event.payload!])   // the shape's positions are the payload's
        let shape = try #require(event.arguments)
        #expect(shape.count == 4)
        #expect(String(decoding: json[shape.firstString!], as: UTF8.self) == "message")
        #expect(String(decoding: json[shape.second], as: UTF8.self) == "1")
        #expect(String(decoding: json[shape.rest], as: UTF8.self) == #"1,"2",{"3":[true]}"#)
        let bare = try parse(#"2["ping"]"#)
        #expect(bare.arguments?.count == 1)
        let escaped = try parse(#"2["m\u0065ssage",1]"#)
        #expect(escaped.arguments?.firstStringEscaped == true)
    }

    @Test func ackIdsFollowTheNamespace() throws {
        let source = #"2/admin,456["message-with-ack",1,"2",{"3":[false]}]"#
        let event = try parse(source)
        #expect(text(source, event.namespace) == "/admin" && event.ackID == 456)
        let ack = try parse(#"3456[1,"2",{"3":[false]}]"#)
        #expect(ack.kind == .ack && ack.ackID == 456 && ack.arguments?.count == 3)
        #expect(try parse("3[]").arguments?.count == 0)
        #expect(try parse("2999999999999999[\"x\"]").ackID == 999_999_999_999_999)
    }

    @Test func binaryPacketsAnnounceTheirAttachments() throws {
        let source = #"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        let event = try parse(source)
        #expect(event.kind == .binaryEvent && event.attachments == 2 && event.arguments?.count == 3)
        let ack = try parse(#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        #expect(ack.kind == .binaryAck && ack.attachments == 2 && ack.ackID == 789)
        #expect(try parse(#"564-["x"]"#).attachments == 64)
    }

    @Test(arguments: [
        ("", SocketIOPacket.Failure.emptyPacket),
        ("abc", .unknownType),                               // the suite's "4abc"
        ("7[]", .unknownType),
        ("2{}", .payloadShape),                               // the suite's invalid payload format
        (#"2abc["message-with-ack",1]"#, .payloadNotJSON),    // the suite's invalid ack id
        ("2", .payloadShape),
        ("2[]", .payloadShape),
        ("2[1]", .payloadShape),                              // no name
        (#"2["connect"]"#, .payloadShape),                    // reserved
        (#"2["disconnect",1]"#, .payloadShape),
        (#"2["a",]"#, .payloadNotJSON),
        (#"2["a"] x"#, .payloadNotJSON),
        (#"5["a"]"#, .badAttachments),
        (#"5-["a"]"#, .badAttachments),
        (#"565-["a"]"#, .tooManyAttachments),
        (#"51000000000-["a"]"#, .tooManyAttachments),         // a billion attachments announced
        (#"2/a b,["x"]"#, .badNamespace),
        ("2/" + String(repeating: "n", count: 256) + #",["x"]"#, .badNamespace),
        ("21234567890123456[\"x\"]", .badAckID),
        ("05{}", .badAckID),                                   // a CONNECT takes no ack id
        ("0[1]", .payloadShape),
        ("0{", .payloadNotJSON),
        ("4{\"message\":\"x\"}", .payloadShape),              // CONNECT_ERROR is the server's
    ])
    func malformedPacketsAreRefused(text: String, failure: SocketIOPacket.Failure) {
        #expect(throws: failure) { try parse(text) }
    }

    @Test func deeplyNestedPayloadsAreRefusedNotRecursedInto() {
        let deep = "2[\"x\"," + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "]"
        #expect(throws: SocketIOPacket.Failure.self) { try parse(deep) }
    }
}

/// The packets the server writes, as the protocol's documentation spells them, and read back by
/// the parser where a client would send the same kind.
struct SocketIOPacketWritingTests {
    func written(_ write: (inout JSONBuffer) -> Void) -> String {
        var buffer = JSONBuffer(capacity: 64)
        defer { buffer.free() }
        write(&buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    @Test func eventsAndAcksOnTheMainAndOtherNamespaces() {
        #expect(written { buffer in
            SocketIOPacket.writeEventHead("hello", namespace: "/", ackID: nil, into: &buffer)
            buffer.put("1" as StaticString)
            SocketIOPacket.writeArgumentsTail(into: &buffer)
        } == #"2["hello",1]"#)
        #expect(written { buffer in
            SocketIOPacket.writeEventHead("project:delete", namespace: "/admin", ackID: 456, into: &buffer)
            buffer.put("123" as StaticString)
            SocketIOPacket.writeArgumentsTail(into: &buffer)
        } == #"2/admin,456["project:delete",123]"#)
        #expect(written { SocketIOPacket.writeEvent("ping", namespace: "/", into: &$0) } == #"2["ping"]"#)
        #expect(written { SocketIOPacket.writeAck(456, namespace: "/admin", into: &$0) } == "3/admin,456[]")
        #expect(written { buffer in
            SocketIOPacket.writeAckHead(7, namespace: "/", into: &buffer)
            buffer.put(#""é\n""# as StaticString)
            SocketIOPacket.writeArgumentsTail(into: &buffer)
        } == "3" + "7" + #"["é\n"]"#)
    }

    @Test func connectReplyRefusalAndDisconnect() {
        #expect(written { SocketIOPacket.writeConnected(sid: "oSO0OpakMV_3jnilAAAA", namespace: "/admin", into: &$0) }
            == #"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#)
        #expect(written { SocketIOPacket.writeConnected(sid: "x", namespace: "/", into: &$0) } == #"0{"sid":"x"}"#)
        #expect(written { SocketIOPacket.writeConnectError("Invalid namespace", namespace: "/random", into: &$0) }
            == #"4/random,{"message":"Invalid namespace"}"#)
        #expect(written { buffer in
            SocketIOPacket.writeConnectError("unauthorized", namespace: "/", into: &buffer) { $0.put(#"{"why":"no token"}"# as StaticString) }
        } == #"4{"message":"unauthorized","data":{"why":"no token"}}"#)
        #expect(written { SocketIOPacket.writeDisconnect(namespace: "/admin", into: &$0) } == "1/admin,")
        #expect(written { SocketIOPacket.writeDisconnect(namespace: "/", into: &$0) } == "1")
    }

    @Test func whatIsWrittenReadsBack() throws {
        let text = written { buffer in
            SocketIOPacket.writeEventHead("chat \"quoted\"", namespace: "/chat", ackID: 12, into: &buffer)
            buffer.put(#"{"text":"hi"}"# as StaticString)
            SocketIOPacket.writeArgumentsTail(into: &buffer)
        }
        let packet = try Array(text.utf8).withUnsafeBytes { try SocketIOPacket.parse($0) }
        #expect(packet.kind == .event && packet.ackID == 12 && packet.arguments?.count == 2)
        #expect(packet.arguments?.firstStringEscaped == true)
        #expect(String(decoding: Array(text.utf8)[packet.namespace!], as: UTF8.self) == "/chat")
    }
}
