import Testing
@testable import NaviosJSON
@testable import NaviosWS

/// The JSON wire protocol, the one place that knows the envelope's keys: what it writes, and
/// what it reads of a frame.
@Suite struct WsJSONEnvelopeTests {
    let wire = WsJSONEnvelope.self

    func written(_ write: (inout JSONBuffer) throws -> Void) rethrows -> String {
        var buffer = JSONBuffer(capacity: 16)
        defer { buffer.free() }
        try write(&buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    @Test func writesEventsAcksAndErrors() throws {
        let data: WsPayloadWriter = { $0.put(Array(#"{"x":1}"#.utf8)) }
        #expect(try written { try wire.writeEvent("e", namespace: "/", id: nil, into: &$0, payload: data) } == #"{"event":"e","data":{"x":1}}"#)
        #expect(try written { try wire.writeEvent("e", namespace: "/", id: 9, into: &$0, payload: data) } == #"{"event":"e","data":{"x":1},"id":9}"#)
        #expect(written { wire.writeEvent("ping", namespace: "/", offset: nil, into: &$0) } == #"{"event":"ping"}"#)
        let prefix = wire.ackPrefix(event: "e", namespace: "/")
        #expect(try written { try wire.writeAck(7, prefix: prefix, into: &$0, payload: data) } == #"{"event":"e","data":{"x":1},"ack":7}"#)
        #expect(written { wire.writeAck(7, event: "e", namespace: "/", into: &$0) } == #"{"event":"e","ack":7}"#)
        let error: WsPayloadWriter = { $0.put(Array("{}".utf8)) }
        #expect(try written { try wire.writeError("e", namespace: "/", ack: nil, into: &$0, error: error) } == #"{"event":"e","error":{}}"#)
        #expect(try written { try wire.writeError("e", namespace: "/", ack: 3, into: &$0, error: error) } == #"{"event":"e","error":{},"ack":3}"#)
    }

    /// Names are escaped by the one routine (JSONBuffer.writeString): the short escapes where
    /// JSON has them, \u00XX for the other control characters.
    @Test func rfc8259_7_eventNamesAreQuotedAndEscapedByTheOneRoutine() {
        let odd = "a\"b\\c\n\u{1}é"
        #expect(written { wire.writeEvent(odd, namespace: "/", offset: nil, into: &$0) } == #"{"event":"a\"b\\c\n\u0001é"}"#)
        #expect(wire.ackPrefix(event: odd, namespace: "/") == Array(#"{"event":"a\"b\\c\n\u0001é","data":"#.utf8))
    }

    func read(_ text: String) -> String {
        Array(text.utf8).withUnsafeBytes { bytes in
            switch wire.decode(bytes) {
            case .event(let name, let escaped, let payload, let ack):
                return "event \(String(decoding: name, as: UTF8.self)) escaped=\(escaped) "
                    + "data=\(payload.map { String(decoding: $0, as: UTF8.self) } ?? "-") ack=\(ack.map(String.init) ?? "-")"
            case .answer(let id, let payload):
                return "answer \(id) data=\(payload.map { String(decoding: $0, as: UTF8.self) } ?? "-")"
            case .invalid(let reason):
                return "invalid: \(reason)"
            }
        }
    }

    @Test func readsEventsAnswersAndRefusesWhatItCannotActOn() {
        #expect(read(#"{"event":"chat","data":{"a":[1]},"id":4}"#) == #"event chat escaped=false data={"a":[1]} ack=4"#)
        #expect(read(#" {"id":0,"event":"x"} "#) == "event x escaped=false data=- ack=0")
        #expect(read(#"{"event":"a\u0062"}"#) == #"event a\u0062 escaped=true data=- ack=-"#)
        #expect(read(#"{"ev\u0065nt":"chat","d\u0061ta":2,"\u0069d":5}"#) == "event chat escaped=false data=2 ack=5")
        #expect(read(#"{"ack":42,"data":{"ok":true}}"#) == #"answer 42 data={"ok":true}"#)
        #expect(read(#"{"event": oops"#) == #"invalid: expected {"event":...,"data":...,"id":...}"#)
        #expect(read(#"{"data":1}"#) == "invalid: the message has no event")
        #expect(read(#"{"event":1}"#) == "invalid: event must be a string")
        #expect(read(#"{"event":"a","id":1.5}"#) == "invalid: id must be an integer from 0 to 2^53 - 1")
        #expect(read(#"{"event":"a","id":-1}"#) == "invalid: id must be an integer from 0 to 2^53 - 1")
        #expect(read(#"{"ack":"7"}"#) == "invalid: ack must be an integer from 0 to 2^53 - 1")
        #expect(read(#"{"event":"a","event":"b"}"#).hasPrefix("invalid"))
    }

    @Test func onlyWholeEnvelopesInValidUTF8AreDeliverable() {
        func deliverable(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes(wire.isDeliverable) }
        let whole = Array(#"{"event":"msg","data":{"text":"caf\#u{e9}"}}"#.utf8)
        #expect(deliverable(whole))
        #expect(!deliverable(Array(whole.dropLast(3))))
        #expect(!deliverable(Array(whole[..<(whole.count - 5)])))   // inside the é: invalid UTF-8 too
        #expect(!deliverable(Array(#"{"data":1}"#.utf8)))
        #expect(!deliverable([0xFF] + whole))
    }
}
