#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosWS

/// Payload types and helpers shared by the Events suites, kept in one namespace so their names
/// cannot clash with other suites' types in the same test target.
enum EventsFixtures {
    struct ChatMessage: Codable, Sendable, Equatable, WsValidatable {
        var roomId: String
        var text: String
        var priority: Int = 5

        static let schema = WsSchema<ChatMessage> {
            $0.string("roomId", \.roomId, minLength: 1, maxLength: 64, pattern: "^[a-z0-9-]+$")
            $0.string("text", \.text, maxLength: 1000)
            $0.number("priority", \.priority, min: 0, max: 10)
            $0.custom("text", "must not be blank") { !$0.text.allSatisfy(\.isWhitespace) }
        }
    }

    struct ChatMessageResponse: Codable, Sendable, Equatable {
        var userId: String
        var message: String
        var timestamp: Double
    }

    struct RoomRef: Codable, Sendable, Equatable {
        var roomId: String
    }

    /// Optional fields: `nickname` is required to be present, the others may be nil.
    struct Profile: Codable, Sendable, Equatable, WsValidatable {
        var nickname: String?
        var bio: String?
        var age: Int?
        var score: Double?
        var tags: [String]?

        static let schema = WsSchema<Profile> {
            $0.string("nickname", \.nickname, minLength: 2, maxLength: 4, required: true)
            $0.string("bio", \.bio, maxLength: 3)
            $0.number("age", \.age, min: 13, max: 120)
            $0.number("score", \.score, min: 0.0, max: 1.0)
            $0.array("tags", \.tags, maxCount: 2)
        }
    }

    struct Measurement: Codable, Sendable, Equatable, WsValidatable {
        var celsius: Double
        static let schema = WsSchema<Measurement> {
            $0.number("celsius", \.celsius, min: -273.15, max: 1000)
        }
    }

    struct Item: Codable, Sendable, Equatable, WsValidatable {
        var name: String
        var quantity: Int
        static let schema = WsSchema<Item> {
            $0.string("name", \.name, minLength: 1)
            $0.number("quantity", \.quantity, min: 1)
        }
    }

    struct Author: Codable, Sendable, Equatable, WsValidatable {
        var name: String
        static let schema = WsSchema<Author> {
            $0.string("name", \.name, maxLength: 5)
        }
    }

    /// Nesting: an object, an optional object and an array of objects, plus a JSON key renamed
    /// by CodingKeys (the issue must name the key the client sent).
    struct Order: Codable, Sendable, Equatable, WsValidatable {
        var author: Author
        var reviewer: Author?
        var items: [Item]
        var note: String

        enum CodingKeys: String, CodingKey {
            case author, reviewer, items
            case note = "order_note"
        }

        static let schema = WsSchema<Order> {
            $0.nested("author", \.author)
            $0.nested("reviewer", \.reviewer)
            $0.array("items", \.items, minCount: 1, maxCount: 3)
            $0.nested("items", \.items)
            $0.string("order_note", \.note, maxLength: 2)
            $0.custom("", "must not be reviewed by its author") { $0.reviewer != $0.author }
        }
    }

    /// A type that contains itself: its schema refers to its own schema through `nested`.
    struct Comment: Codable, Sendable, Equatable, WsValidatable {
        var text: String
        var replies: [Comment]
        static let schema = WsSchema<Comment> {
            $0.string("text", \.text, minLength: 1)
            $0.nested("replies", \.replies)
        }
    }

    enum Mood: String, Codable, Sendable {
        case happy, sad
    }

    struct Flags: Codable, Sendable, Equatable {
        var on: Bool
        var count: Int8
        var mood: Mood
        var ratio: Double
        var list: [Int]
    }

    /// Decodes `json` as the gateway would hand it over: raw bytes, or nil when there was no data.
    static func decode<P: Decodable>(_ type: P.Type, _ json: String?) throws(WsPayloadError) -> P {
        guard let json else {
            return try WsPayloadDecoding.decode(type, from: nil)
        }
        // withUnsafeBytes rethrows as `any Error`; a Result keeps the error typed.
        let result = Array(json.utf8).withUnsafeBytes { buffer in
            Result { () throws(WsPayloadError) -> P in try WsPayloadDecoding.decode(type, from: buffer) }
        }
        return try result.get()
    }

    /// The error decoding `json` throws; records an issue when it decodes instead.
    static func failure<P: Decodable>(
        _ type: P.Type, _ json: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) -> WsPayloadError? {
        do {
            let value = try decode(type, json)
            Issue.record("decoded \(value) but expected a WsPayloadError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// The issues decoding `json` reports (empty when it decodes and validates).
    static func issues<P: Decodable>(_ type: P.Type, _ json: String) -> [WsValidationIssue] {
        do {
            _ = try decode(type, json)
            return []
        } catch {
            return error.issues
        }
    }

    /// `value` as JSON with sorted keys, so the text can be compared whole.
    static func encodedString<V: Encodable>(_ value: V) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func issue(_ path: String, _ message: String) -> WsValidationIssue {
        WsValidationIssue(path: path, message: message)
    }

    /// A string of `count` copies of `unit`.
    static func string(_ count: Int, of unit: String = "a") -> String {
        String(repeating: unit, count: count)
    }
}
