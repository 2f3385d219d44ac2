import Testing
@testable import NaviosWS

@Suite struct WsJSONTests {
    /// Every envelope escapes names with the one routine (JSONBuffer.writeString): the short
    /// escapes where JSON has them, \u00XX for the other control characters.
    @Test func rfc8259_7_eventNamesAreQuotedAndEscapedByTheOneRoutine() {
        let plain = WsJSON.envelope(event: "chat:message", json: nil)
        #expect(String(decoding: plain, as: UTF8.self) == #"{"event":"chat:message"}"#)
        let odd = "a\"b\\c\n\u{1}é"
        let bare = WsJSON.envelope(event: odd, json: nil)
        #expect(String(decoding: bare, as: UTF8.self) == #"{"event":"a\"b\\c\n\u0001é"}"#)
        let streamed = try? WsJSON.envelope(event: odd, value: 1)
        #expect(streamed.map { String(decoding: $0, as: UTF8.self) } == #"{"event":"a\"b\\c\n\u0001é","data":1}"#)
        #expect(WsJSON.envelopePrefix(event: odd) == Array(#"{"event":"a\"b\\c\n\u0001é","data":"#.utf8))
    }

    @Test func envelopesCarryDataAndAckOrId() {
        let ack = WsJSON.envelope(event: "e", json: Array("{\"x\":1}".utf8), tail: ("ack", 7))
        #expect(String(decoding: ack, as: UTF8.self) == #"{"event":"e","data":{"x":1},"ack":7}"#)
        let bare = WsJSON.envelope(event: "ping", json: nil)
        #expect(String(decoding: bare, as: UTF8.self) == #"{"event":"ping"}"#)
        let error = WsJSON.envelope(event: "e", field: "error", json: Array("{}".utf8), tail: nil)
        #expect(String(decoding: error, as: UTF8.self) == #"{"event":"e","error":{}}"#)
    }
}
