#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosWS

/// The JSON a client receives for a rejected payload.
@Suite struct PayloadErrorEventsTests {
    typealias F = EventsFixtures

    @Test func encodesCodeMessageAndIssues() throws {
        let error = WsPayloadError(
            message: "payload failed validation",
            issues: [F.issue("text", "must be at most 1000 characters"), F.issue("items.2.name", "missing")])
        #expect(try F.encodedString(error) == """
            {"code":"invalid_payload","issues":[{"message":"must be at most 1000 characters","path":"text"},\
            {"message":"missing","path":"items.2.name"}],"message":"payload failed validation"}
            """)
    }

    @Test func errorFromDecodingRoundTrips() throws {
        let error = try #require(F.failure(F.ChatMessage.self, #"{"roomId":"a","text":"   ","priority":1}"#))
        let data = try JSONEncoder().encode(error)
        #expect(try JSONDecoder().decode(WsPayloadError.self, from: data) == error)
        #expect(try F.encodedString(error) == """
            {"code":"invalid_payload","issues":[{"message":"must not be blank","path":"text"}],\
            "message":"payload failed validation"}
            """)
    }

    @Test func issueEncodesPathAndMessage() throws {
        #expect(try F.encodedString(F.issue("", "not valid JSON")) == #"{"message":"not valid JSON","path":""}"#)
    }
}
