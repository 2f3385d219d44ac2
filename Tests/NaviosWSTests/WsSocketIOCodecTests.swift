#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosJSON
@testable import NaviosWS

/// What the Socket.IO codec writes: events, acks and errors with the client's namespace, the
/// binary kinds for arguments with attachments, and a kept broadcast's offset; and the JSON
/// codec's writing of the same arguments and offsets.
@Suite struct WsSocketIOCodecTests {
    let wire = WsSocketIOCodec.self

    func written(_ write: (inout JSONBuffer) throws -> Void) rethrows -> String {
        var buffer = JSONBuffer(capacity: 16)
        defer { buffer.free() }
        try write(&buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    func arguments(_ json: String, _ attachments: [[UInt8]] = []) -> WsArguments {
        WsArguments(json: Array(json.utf8), attachments: attachments)!
    }

    @Test func eventsNameTheNamespaceButTheMainOne() throws {
        let data: WsPayloadWriter = { $0.put(Array(#"{"x":1}"#.utf8)) }
        #expect(try written { try wire.writeEvent("e", namespace: "/", id: nil, into: &$0, payload: data) } == #"2["e",{"x":1}]"#)
        #expect(try written { try wire.writeEvent("e", namespace: "/chat", id: 7, into: &$0, payload: data) }
            == #"2/chat,7["e",{"x":1}]"#)
        #expect(written { wire.writeEvent("ping", namespace: "/chat", offset: nil, into: &$0) } == #"2/chat,["ping"]"#)
    }

    @Test func aKeptBroadcastCarriesItsOffsetLast() throws {
        let data: WsPayloadWriter = { $0.put(Array("1".utf8)) }
        #expect(try written { try wire.writeEvent("e", namespace: "/", id: nil, offset: "n:1f", into: &$0, payload: data) }
            == #"2["e",1,"n:1f"]"#)
        #expect(written { wire.writeEvent("e", namespace: "/a", offset: "n:2", into: &$0) } == #"2/a,["e","n:2"]"#)
        #expect(try written { try WsJSONEnvelope.writeEvent("e", namespace: "/", id: nil, offset: "n:3", into: &$0, payload: data) }
            == #"{"event":"e","data":1,"offset":"n:3"}"#)
    }

    @Test func acksCarryTheResultAsTheirOneArgument() throws {
        let prefix = wire.ackPrefix(event: "e", namespace: "/admin")
        let data: WsPayloadWriter = { $0.put(Array("[1,2]".utf8)) }
        #expect(try written { try wire.writeAck(456, prefix: prefix, into: &$0, payload: data) } == "3/admin,456[[1,2]]")
        #expect(written { wire.writeAck(9, event: "e", namespace: "/", into: &$0) } == "39[]")
    }

    @Test func errorsGoInTheAckOrAnExceptionEvent() throws {
        let error: WsPayloadWriter = { $0.put(Array(#"{"code":"forbidden"}"#.utf8)) }
        #expect(try written { try wire.writeError("e", namespace: "/", ack: 3, into: &$0, error: error) }
            == #"33[{"error":{"code":"forbidden"}}]"#)
        #expect(try written { try wire.writeError("chat:x", namespace: "/c", ack: nil, into: &$0, error: error) }
            == #"2/c,["exception",{"event":"chat:x","error":{"code":"forbidden"}}]"#)
    }

    @Test func argumentsGoOutAsTheyCame() {
        let args = arguments(#"[1, "2",{"3":[true]}]"#)
        #expect(written { wire.writeArguments(args, event: "back", namespace: "/", id: nil, ack: nil, offset: nil, into: &$0) }
            == #"2["back",1, "2",{"3":[true]}]"#)
        #expect(written { wire.writeArguments(args, event: "back", namespace: "/", id: nil, ack: 456, offset: nil, into: &$0) }
            == #"3456[1, "2",{"3":[true]}]"#)
        let none = arguments("[]")
        #expect(written { wire.writeArguments(none, event: "x", namespace: "/n", id: nil, ack: nil, offset: "o", into: &$0) }
            == #"2/n,["x","o"]"#)
    }

    @Test func argumentsWithAttachmentsUseTheBinaryKinds() {
        let args = arguments(#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#, [[1], [2]])
        #expect(written { wire.writeArguments(args, event: "m", namespace: "/", id: nil, ack: nil, offset: nil, into: &$0) }
            == #"52-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        #expect(written { wire.writeArguments(args, event: "m", namespace: "/c", id: nil, ack: 789, offset: nil, into: &$0) }
            == #"62-/c,789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    }

    @Test func aJSONClientGetsOneArgumentAsDataAndSeveralAsAnArray() {
        let json = WsJSONEnvelope.self
        #expect(written { json.writeArguments(arguments(#"[{"a":1}]"#), event: "e", namespace: "/", id: nil, ack: nil,
                                               offset: nil, into: &$0) } == #"{"event":"e","data":{"a":1}}"#)
        #expect(written { json.writeArguments(arguments("[1,2]"), event: "e", namespace: "/", id: nil, ack: 4, offset: nil,
                                               into: &$0) } == #"{"event":"e","data":[1,2],"ack":4}"#)
        #expect(written { json.writeArguments(arguments("[]"), event: "e", namespace: "/", id: 5, ack: nil, offset: nil,
                                               into: &$0) } == #"{"event":"e","id":5}"#)
    }

    @Test func theCONNECTReplyCarriesThePidOnlyWithRecovery() {
        #expect(written { SocketIOPacket.writeConnected(sid: "s", namespace: "/", into: &$0) } == #"0{"sid":"s"}"#)
        #expect(written { SocketIOPacket.writeConnected(sid: "s", pid: "p", namespace: "/c", into: &$0) }
            == #"0/c,{"sid":"s","pid":"p"}"#)
    }

    @Test func onlyWholeEventPacketsAreDeliverableFromElsewhere() {
        func deliverable(_ text: String) -> Bool { Array(text.utf8).withUnsafeBytes(wire.isDeliverable) }
        #expect(deliverable(#"2/chat,["e",{"a":1}]"#))
        #expect(!deliverable(#"2/chat,["e",{"a":1}"#))
        #expect(!deliverable(#"3/chat,1[1]"#))
        #expect(!deliverable(#"51-["e",{"_placeholder":true,"num":0}]"#))
    }

    @Test func argumentsMapOntoPayloads() {
        #expect(arguments("[]").payload == nil)
        #expect(arguments(#"[{"a":1}]"#).payload == Array(#"{"a":1}"#.utf8))
        #expect(arguments(#"[1,"2"]"#).payload == Array(#"[1,"2"]"#.utf8))
        #expect(WsArguments(payload: nil).count == 0)
        let one = Array(#"{"a":[1,2]}"#.utf8)
        let wrapped = one.withUnsafeBytes { WsArguments(payload: $0) }
        #expect(wrapped.count == 1 && wrapped.payload == one)
        #expect(WsArguments(json: Array("{}".utf8)) == nil)
    }

    struct Upload: Codable, Equatable {
        var name: String
        var data: Data
        var bytes: [UInt8]
        var note: String?
    }

    @Test func binaryValuesInATypedPayloadBecomeAttachmentsAndTheBinaryKinds() throws {
        let upload = Upload(name: "f", data: Data([1, 2]), bytes: [3], note: nil)
        var attachments: [[UInt8]] = []
        let event = try written { buffer in
            try wire.writeEvent("up", namespace: "/chat", id: 4, into: &buffer) {
                try wire.writePayload(upload, into: &$0, attachments: &attachments)
            }
        }
        #expect(event == #"52-/chat,4["up",{"name":"f","data":{"_placeholder":true,"num":0},"bytes":{"_placeholder":true,"num":1}}]"#)
        #expect(attachments == [[1, 2], [3]])
        attachments = []
        let ack = try written { buffer in
            try wire.writeAck(9, prefix: wire.ackPrefix(event: "up", namespace: "/"), into: &buffer) {
                try wire.writePayload(Data([7]), into: &$0, attachments: &attachments)
            }
        }
        #expect(ack == #"61-9[{"_placeholder":true,"num":0}]"#)
        // Without binary values, the plain kinds; on the JSON protocol, base64 and numbers.
        attachments = []
        #expect(try written { try wire.writePayload("text", into: &$0, attachments: &attachments) } == #""text""#)
        #expect(attachments.isEmpty)
        #expect(try written { try WsJSONEnvelope.writePayload(upload, into: &$0, attachments: &attachments) }
            == #"{"bytes":[3],"data":"AQI=","name":"f"}"#)
        #expect(attachments.isEmpty)
    }

    @Test func placeholdersInATypedPayloadDecodeAsTheirAttachments() throws {
        let json = Array(#"{"name":"f","data":{"_placeholder":true,"num":1},"bytes":{"_placeholder":true,"num":0}}"#.utf8)
        let upload = try json.withUnsafeBytes {
            try WsPayloadDecoding.decode(Upload.self, from: $0, attachments: WsAttachments([[9, 8], [1, 2, 3]]), validating: false)
        }
        #expect(upload == Upload(name: "f", data: Data([1, 2, 3]), bytes: [9, 8], note: nil))
        // Base64 text (the JSON protocol's Data) still decodes.
        let text = Array(#"{"name":"j","data":"AQI=","bytes":[5]}"#.utf8)
        #expect(try text.withUnsafeBytes { try WsPayloadDecoding.decode(Upload.self, from: $0) }
            == Upload(name: "j", data: Data([1, 2]), bytes: [5], note: nil))
    }
}
