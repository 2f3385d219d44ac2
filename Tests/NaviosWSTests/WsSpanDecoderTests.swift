#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosWS
@testable import NaviosJSON

/// The span decoder must give JSONDecoder's value whenever it succeeds, and decline whatever it
/// does not decode the same way, so that WsPayloadDecoding hands those to JSONDecoder.
@Suite struct WsSpanDecoderTests {
    struct Inner: Codable, Equatable { var name: String; var tags: [String]; var score: Double? }
    enum Level: String, Codable, Equatable { case low, high }
    struct Outer: Codable, Equatable {
        var id: Int
        var ok: Bool
        var ratio: Double
        var text: String
        var inner: Inner
        var list: [Inner]
        var map: [String: Int]
        var missing: String?
        var small: Int8
        var unsigned: UInt16
        var level: Level
        var float: Float
    }
    struct Stamp: Codable, Equatable { var at: Date }
    struct Count: Codable, Equatable { var n: Int }
    struct Name: Codable, Equatable { var name: String }

    /// The span decoder's answer next to JSONDecoder's: both values, or nil where that decoder
    /// declined (span decoder) or failed (JSONDecoder).
    static func both<T: Decodable & Equatable>(_ type: T.Type, _ json: String) -> (span: T?, foundation: T?) {
        let bytes = Array(json.utf8)
        let span = bytes.withUnsafeBytes { try? WsSpanDecoder.decode(T.self, from: $0) }
        let foundation = try? JSONDecoder().decode(T.self, from: Data(bytes))
        return (span, foundation)
    }

    @Test func aNestedValueDecodesAsJSONDecoderDecodesIt() {
        let json = """
            {"id": -42, "ok": true, "ratio": 0.1e1, "text": "caf\\u00e9 \\"q\\" \\n \\ud83d\\ude00 \\/",
             "inner": {"name": "a", "tags": ["x", "y"], "score": null},
             "list": [{"name": "b", "tags": [], "score": 2.5}], "map": {"k": 1, "l": -2},
             "small": -128, "unsigned": 65535, "level": "high", "float": 3.25, "extra": [1, {"z": "]"}]}
            """
        let (span, foundation) = Self.both(Outer.self, json)
        #expect(foundation != nil)
        #expect(span == foundation)
    }

    @Test func scalarsAndCollectionsAtTheTop() {
        #expect(Self.both(String.self, #""plain""#).span == "plain")
        #expect(Self.both(Int.self, " 7 ").span == 7)
        #expect(Self.both([Int].self, "[1, 2, 3]").span == [1, 2, 3])
        #expect(Self.both([String: String].self, #"{"a": "b"}"#).span == ["a": "b"])
        #expect(Self.both(Int?.self, "null").span == .some(nil))
        #expect(Self.both(Double.self, "1e-3").span == 0.001)
    }

    /// What it must not decide alone: each of these declines, and JSONDecoder's answer stands.
    @Test(arguments: [
        #"{"n": 1.0}"#,            // an integer written with a fraction
        #"{"n": 1e2}"#,            // or an exponent
        #"{"n": -0}"#,             // negative zero
        #"{"n": 9223372036854775808}"#,   // out of range
        #"{"n": "1"}"#,            // a string for a number
        #"{"\u006e": 1}"#,         // an escaped key
        #"{"n": 1, "n": 2}"#,      // a repeated key
        #"{}"#,                    // a missing key
        #"[1]"#,                   // not an object
    ])
    func integerFieldsItCannotDecideAlone(json: String) {
        #expect(Self.both(Count.self, json).span == nil)
    }

    @Test func typesJSONDecoderTreatsSpeciallyAreDeclined() {
        #expect(Self.both(Stamp.self, #"{"at": 0}"#).span == nil)
        #expect(Self.both(Stamp.self, #"{"at": 0}"#).foundation != nil)
        #expect(Self.both(Name.self, #"{"name": "\ud800"}"#).span == nil)   // a lone surrogate
    }

    /// A type whose init(from:) tries one shape after another (with try?) declines as a whole,
    /// since the attempts it swallowed may have been declines rather than mismatches.
    @Test func caughtDeclinesStillSendTheWholeValueToJSONDecoder() {
        let bytes = Array(#"{"a": [1, "x", null]}"#.utf8)
        #expect(bytes.withUnsafeBytes { try? WsSpanDecoder.decode(WsJSONValue.self, from: $0) } == nil)
        let viaPayload = bytes.withUnsafeBytes { try? WsPayloadDecoding.decode(WsJSONValue.self, from: $0) }
        #expect(viaPayload == .object(["a": .array([.number(1), .string("x"), .null])]))
    }

    /// Through the payload entry point the declined cases still decode, or fail with the
    /// client-facing error JSONDecoder's failure maps to.
    @Test func thePayloadEntryPointFallsBackToJSONDecoder() throws {
        let bytes = Array(#"{"\u006e": 5}"#.utf8)   // an escaped key: declined, then decoded
        let value = try bytes.withUnsafeBytes { try WsPayloadDecoding.decode(Count.self, from: $0) }
        #expect(value == Count(n: 5))
        let missing = Array("{}".utf8)
        #expect(throws: WsPayloadError.self) {
            try missing.withUnsafeBytes { try WsPayloadDecoding.decode(Count.self, from: $0) }
        }
    }
}
