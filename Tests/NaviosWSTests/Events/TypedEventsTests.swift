import Testing
@testable import NaviosWS

/// Declaring events with the builder: the name is kept, the types are carried by the event.
@Suite struct TypedEventsTests {
    typealias F = EventsFixtures
    let ws = wsBuilder()

    @Test func declaredEventKeepsItsNameAndTypes() {
        let chatMessage = ws.declareWsEvent(
            event: "chat:message", payload: F.ChatMessage.self, response: F.ChatMessageResponse.self)
        #expect(chatMessage.name == "chat:message")
        #expect(type(of: chatMessage) == WsEvent<F.ChatMessage, F.ChatMessageResponse>.self)
    }

    @Test func eventWithoutResponseAnswersWsNoResponse() {
        let chatTyping = ws.declareWsEvent(event: "chat:typing", payload: F.RoomRef.self)
        #expect(chatTyping.name == "chat:typing")
        #expect(type(of: chatTyping) == WsEvent<F.RoomRef, WsNoResponse>.self)
    }

    @Test func eventsAreSendableValues() async {
        let event = ws.declareWsEvent(event: "ping", payload: WsNoResponse.self)
        let name = await Task.detached { event.name }.value
        #expect(name == "ping")
    }

    @Test func emptyEventNameStopsTheProgram() async {
        await #expect(processExitsWith: .failure) {
            _ = wsBuilder().declareWsEvent(event: "", payload: WsNoResponse.self)
        }
    }

    @Test func noResponseDecodesFromAnythingAndEncodesAsNull() throws {
        #expect(try F.decode(WsNoResponse.self, nil) == WsNoResponse())
        #expect(try F.decode(WsNoResponse.self, "null") == WsNoResponse())
        #expect(try F.decode(WsNoResponse.self, #"{"extra":1}"#) == WsNoResponse())
        #expect(try F.encodedString(WsNoResponse()) == "null")
    }
}
