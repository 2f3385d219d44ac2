#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosWS
@testable import NaviosJSON

/// The streaming writer must produce the same JSON value as JSONEncoder for everything it
/// accepts, and decline (so the caller falls back) what it cannot write the same way.
@Suite struct WsJSONWriterTests {
    struct Inner: Codable { var name: String; var tags: [String]; var score: Double? }
    struct Outer: Codable {
        var id: Int
        var ok: Bool
        var ratio: Double
        var whole: Double
        var text: String
        var inner: Inner
        var list: [Inner]
        var map: [String: Int]
        var missing: String?
        var small: Int32
        var level: Level
    }
    enum Level: String, Codable { case low, high }
    struct Empty: Codable {}
    enum Shape: Codable { case circle(radius: Double), square(side: Double) }

    static func sameValue<T: Encodable>(_ value: T) throws -> Bool {
        let ours = try WsJSONWriter.encode(value)
        let theirs = try JSONEncoder().encode(value)
        let decoder = JSONDecoder()
        return try decoder.decode(WsJSONValue.self, from: Data(ours)) == decoder.decode(WsJSONValue.self, from: theirs)
    }

    static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try WsJSONWriter.encode(value), as: UTF8.self)
    }

    @Test func nestedStructsArraysMapsAndOptionalsMatchJSONEncoder() throws {
        let value = Outer(
            id: 42, ok: true, ratio: 0.25, whole: 3, text: "quote \" backslash \\ newline \n tab \t bell \u{7} é ✓",
            inner: Inner(name: "a", tags: ["x", "y"], score: nil),
            list: [Inner(name: "b", tags: [], score: 1.5), Inner(name: "c", tags: ["z"], score: -2)],
            map: ["one": 1], missing: nil, small: -7, level: .high)
        #expect(try Self.sameValue(value))
        let text = try Self.text(value)
        #expect(!text.contains("missing"))           // nil optionals are omitted, as JSONEncoder does
        #expect(text.contains(#""whole":3,"#))        // integral doubles without ".0"
    }

    struct EveryInteger: Codable {
        var u64: UInt64; var u: UInt; var u32: UInt32; var u16: UInt16; var u8: UInt8
        var i64: Int64; var i32: Int32; var i16: Int16; var i8: Int8
    }

    @Test func everyIntegerWidthIsWrittenAsJSONEncoderWritesIt() throws {
        let extremes = EveryInteger(u64: .max, u: .max, u32: .max, u16: .max, u8: .max, i64: .min, i32: .min, i16: .min, i8: .min)
        #expect(try Self.text(extremes).contains(#""u64":18446744073709551615"#))
        #expect(try Self.sameValue(extremes))
        #expect(try Self.text([UInt64(3), UInt64.max]) == "[3,18446744073709551615]")
        #expect(try Self.text(UInt8(255)) == "255")
    }

    /// Integers are written two digits at a time after counting them: every digit count, both
    /// signs, and the boundaries where the count changes.
    @Test func integersOfEveryLengthAreWrittenAsTheirDecimalText() throws {
        var values: [Int64] = [0, 1, 9, 10, 11, 99, 100, 101, 12_345, Int64.max, Int64.min, Int64.min + 1]
        var power: Int64 = 1
        for _ in 1...18 {
            power *= 10
            values += [power - 1, power, power + 1, -(power - 1), -power, -(power + 1)]
        }
        for value in values {
            #expect(try Self.text(value) == String(value))
        }
    }

    @Test func digitsAreCountedRightAtEveryPowerOfTen() {
        var values: [UInt64] = [0, 1, 9, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 1...19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        for value in values {
            #expect(JSONBuffer.decimalDigits(value) == String(value).count, "\(value)")
        }
    }

    @Test func topLevelScalarsAndEmptyValues() throws {
        #expect(try Self.text("hi") == #""hi""#)
        #expect(try Self.text(7) == "7")
        #expect(try Self.text([Int]()) == "[]")
        #expect(try Self.text(Empty()) == "{}")
        #expect(try Self.text(WsNoResponse()) == "null")
    }

    @Test func declinesWhatItWouldWriteDifferently() throws {
        #expect(throws: WsJSONWriter.Unsupported.self) { try WsJSONWriter.encode(Data([1, 2])) }
        #expect(throws: WsJSONWriter.Unsupported.self) { try WsJSONWriter.encode(Double.nan) }
        // Enums with associated values use nested containers: declined, JSONEncoder takes over.
        #expect(throws: WsJSONWriter.Unsupported.self) { try WsJSONWriter.encode(Shape.circle(radius: 1)) }
        #expect(try JSONEncoding.encode(Shape.circle(radius: 1)).count > 0)
    }
}
