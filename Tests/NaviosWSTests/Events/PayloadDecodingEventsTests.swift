import Testing
@testable import NaviosWS

/// Decoding the `data` member: valid payloads come through, every decoding failure becomes one
/// issue with the JSON path and a message a client can read.
@Suite struct PayloadDecodingEventsTests {
    typealias F = EventsFixtures

    // MARK: - Valid payloads

    @Test func validPayloadDecodes() throws {
        let message = try F.decode(F.ChatMessage.self, #"{"roomId":"general","text":"hi","priority":3}"#)
        #expect(message == F.ChatMessage(roomId: "general", text: "hi", priority: 3))
    }

    @Test func nestedPayloadDecodes() throws {
        let order = try F.decode(F.Order.self, """
            {"author":{"name":"ann"},"items":[{"name":"tea","quantity":2}],"order_note":"ok"}
            """)
        #expect(order == F.Order(author: .init(name: "ann"), reviewer: nil,
                                 items: [.init(name: "tea", quantity: 2)], note: "ok"))
    }

    @Test func scalarAndArrayPayloadsDecode() throws {
        #expect(try F.decode(String.self, #""hello""#) == "hello")
        #expect(try F.decode([Int].self, "[1,2,3]") == [1, 2, 3])
    }

    @Test func absentDataForOptionalPayloadIsNil() throws {
        #expect(try F.decode(F.RoomRef?.self, nil) == nil)
        #expect(try F.decode(F.RoomRef?.self, "null") == nil)
        #expect(try F.decode(F.RoomRef?.self, #"{"roomId":"a"}"#) == F.RoomRef(roomId: "a"))
    }

    @Test func bufferIsNotNeededAfterDecoding() throws {
        var bytes = Array(#"{"roomId":"lobby"}"#.utf8)
        let ref = try bytes.withUnsafeBytes { try WsPayloadDecoding.decode(F.RoomRef.self, from: $0) }
        for index in bytes.indices { bytes[index] = 0 }  // the same storage, overwritten in place
        #expect(ref.roomId == "lobby")
    }

    // MARK: - Decoding errors

    @Test func missingFieldIsReportedAtItsPath() {
        let error = F.failure(F.ChatMessage.self, #"{"roomId":"general"}"#)
        #expect(error?.code == "invalid_payload")
        #expect(error?.issues == [F.issue("text", "missing")])
    }

    @Test func missingFieldInsideArrayElementHasFullPath() {
        let error = F.failure(F.Order.self, """
            {"author":{"name":"ann"},"items":[{"name":"a","quantity":1},{"name":"b","quantity":1},{"quantity":1}],"order_note":""}
            """)
        #expect(error?.issues == [F.issue("items.2.name", "missing")])
    }

    @Test(arguments: [
        (#"{"on":1,"count":1,"mood":"sad","ratio":1,"list":[]}"#, "on", "expected a boolean"),
        (#"{"on":true,"count":"1","mood":"sad","ratio":1,"list":[]}"#, "count", "expected an integer"),
        (#"{"on":true,"count":1,"mood":2,"ratio":1,"list":[]}"#, "mood", "expected a string"),
        (#"{"on":true,"count":1,"mood":"sad","ratio":"1","list":[]}"#, "ratio", "expected a number"),
        (#"{"on":true,"count":1,"mood":"sad","ratio":1,"list":{}}"#, "list", "expected an array"),
        (#"{"on":true,"count":1,"mood":"sad","ratio":1,"list":[1,"2"]}"#, "list.1", "expected an integer"),
        (#"{"on":null,"count":1,"mood":"sad","ratio":1,"list":[]}"#, "on", "expected a boolean"),
        (#"{"on":true,"count":null,"mood":"sad","ratio":1,"list":[]}"#, "count", "expected an integer"),
        (#"{"on":true,"count":1,"mood":null,"ratio":1,"list":[]}"#, "mood", "expected a string"),
        (#"{"on":true,"count":1,"mood":"sad","ratio":1,"list":null}"#, "list", "expected an array"),
        (#"{"on":true,"count":1,"mood":"angry","ratio":1,"list":[]}"#, "mood", "invalid value"),
    ])
    func wrongTypeIsReportedAtItsPath(json: String, path: String, message: String) {
        let error = F.failure(F.Flags.self, json)
        #expect(error?.issues == [F.issue(path, message)])
        #expect(error?.message == "payload does not have the expected shape")
    }

    @Test func wrongTypeForNestedObjectIsReported() {
        let error = F.failure(F.Order.self, #"{"author":"ann","items":[],"order_note":""}"#)
        #expect(error?.issues == [F.issue("author", "expected an object")])
    }

    @Test func topLevelArrayWhereObjectExpectedIsReported() {
        #expect(F.failure(F.RoomRef.self, "[]")?.issues == [F.issue("", "expected an object")])
    }

    @Test(arguments: ["{", "", "{\"roomId\":}", "{\"roomId\":\"a\"} x", "nul", "{'roomId':'a'}"])
    func invalidJSONIsReported(json: String) {
        let error = F.failure(F.RoomRef.self, json)
        #expect(error?.message == "payload is not valid JSON")
        #expect(error?.issues == [F.issue("", "not valid JSON")])
    }

    /// Foundation reports a number that does not fit as invalid JSON without a path; the JSON is
    /// valid, so the client must not be told otherwise.
    @Test(arguments: [
        #"{"on":true,"count":300,"mood":"sad","ratio":1,"list":[]}"#,
        #"{"on":true,"count":1.5,"mood":"sad","ratio":1,"list":[]}"#,
    ])
    func numberThatDoesNotFitIsAnInvalidValueNotInvalidJSON(json: String) {
        #expect(F.failure(F.Flags.self, json)?.issues == [F.issue("", "invalid value")])
    }

    @Test func absentDataForStructPayloadIsMissing() {
        let error = F.failure(F.RoomRef.self, nil)
        #expect(error?.message == "payload is missing")
        #expect(error?.issues == [F.issue("", "missing")])
    }

    @Test func explicitNullForStructPayloadExpectsAnObject() {
        #expect(F.failure(F.RoomRef.self, "null")?.issues == [F.issue("", "expected an object")])
    }

    @Test func errorOfCustomInitIsNotShownToTheClient() {
        struct Picky: Decodable, Sendable {
            struct Secret: Error {}
            init(from decoder: any Decoder) throws { throw Secret() }
        }
        #expect(F.failure(Picky.self, "{}")?.issues == [F.issue("", "invalid value")])
    }
}
