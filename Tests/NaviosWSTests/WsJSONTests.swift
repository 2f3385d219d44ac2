import Testing
@testable import NaviosWS

@Suite struct WsJSONTests {
    @Test func rfc8259_7_eventNamesAreQuotedAndEscaped() {
        #expect(String(decoding: WsJSON.quoted("chat:message"), as: UTF8.self) == #""chat:message""#)
        #expect(String(decoding: WsJSON.quoted("a\"b\\c\n\u{1}é"), as: UTF8.self) == #""a\"b\\c\u000a\u0001é""#)
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
