#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a payload's JSON in place for a ``WsJSONCodable`` type: what `@WsJSON` generates
/// calls it, and a conformance written by hand may too.
///
/// It walks the span position by position, with no containers, no coding path and no type
/// lookups, and validates what it reads: the envelope scan only delimited an object or array
/// payload, so when it succeeds the span was valid JSON. Anything it would not read exactly as
/// JSONDecoder does (a missing or repeated key, a type mismatch, an escaped key, a number out
/// of range, invalid JSON) throws, and the payload is decoded again through `Decodable` once
/// validated, whose value or error is then the answer.
///
/// The member loop and the string reading are inlinable: the codec of a payload type, in its
/// own module, reads its members without a call per step.
public struct WsJSONReader {
    @usableFromInline let decoder: JSONSpan
    /// The span decoder of members that have no codec of their own, made the first time one
    /// comes (most payloads have none).
    private var spanDecoder: WsSpanDecoder?
    /// The first byte of the value to read next (after white space).
    @usableFromInline var position: Int
    /// The key of the member `nextMember` stopped at.
    @usableFromInline var keyStart = 0
    @usableFromInline var keyEnd = 0

    @usableFromInline
    init(_ bytes: UnsafeRawBufferPointer) throws {
        decoder = JSONSpan(bytes)
        position = try decoder.skipSpace(0)
    }

    /// Decodes a whole span: the value, and no decline swallowed on the way (a `Decodable`
    /// member's own `init(from:)` may have caught one with `try?`).
    @inlinable
    package static func decode<T: WsJSONCodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        var reader = try WsJSONReader(bytes)
        let value = try T(wsJSON: &reader)
        try reader.finish()
        return value
    }

    /// Throws when a member decoded through `Decodable` declined somewhere inside.
    @usableFromInline
    func finish() throws {
        if let spanDecoder, spanDecoder.declined { throw JSONSpan.Decline() }
        guard decoder.isBlank(from: position) else { throw JSONSpan.Decline() }   // the value was the whole span
    }

    /// The error that sends the payload to the `Decodable` path.
    @inlinable
    public func decline() -> any Error { JSONSpan.Decline() }

    // MARK: objects

    /// Where a member loop stands: before the first member, or after one.
    public struct Members {
        @usableFromInline var first = true
        @usableFromInline init() {}
    }

    /// Enters the object at the current position.
    @inlinable @inline(__always)
    public mutating func beginObject() throws -> Members {
        guard decoder.byte(position) == UInt8(ascii: "{") else { throw decline() }
        position = try decoder.skipSpace(position &+ 1)
        return Members()
    }

    /// Moves to the next member's value and returns true, or past the closing brace and
    /// returns false. A member's value must be read or skipped before the next call.
    @inlinable @inline(__always)
    public mutating func nextMember(_ members: inout Members) throws -> Bool {
        if members.first {
            members.first = false
        } else {
            position = try decoder.skipSpace(position)
            switch decoder.byte(position) {
            case UInt8(ascii: ","):
                position = try decoder.skipSpace(position + 1)
                guard decoder.byte(position) == UInt8(ascii: "\"") else { throw decline() }   // no trailing comma
            case UInt8(ascii: "}"): break
            default: throw decline()
            }
        }
        if decoder.byte(position) == UInt8(ascii: "}") {
            position += 1
            return false
        }
        guard decoder.byte(position) == UInt8(ascii: "\"") else { throw decline() }
        keyStart = position + 1
        keyEnd = decoder.plainRun(from: keyStart)
        // An escaped key would have to be decoded to be compared.
        guard decoder.byte(keyEnd) == UInt8(ascii: "\"") else { throw decline() }
        let colon = try decoder.skipSpace(keyEnd + 1)
        guard decoder.byte(colon) == UInt8(ascii: ":") else { throw decline() }
        position = try decoder.skipSpace(colon + 1)
        return true
    }

    /// Whether the current member's key is `name` (compared byte for byte).
    @inlinable @inline(__always)
    public func isKey(_ name: StaticString) -> Bool {
        let count = keyEnd &- keyStart
        guard let base = decoder.bytes.baseAddress else { return false }
        // withUTF8Buffer: a one-character literal may be held as a scalar, without a pointer.
        return name.withUTF8Buffer { utf8 in
            guard utf8.count == count else { return false }
            var index = 0
            while index < count && base.load(fromByteOffset: keyStart &+ index, as: UInt8.self) == utf8[index] {
                index &+= 1
            }
            return index == count
        }
    }

    /// An empty slot for a member of the type `member` reads (never called): what generated
    /// code declares its locals with, so that it need not name the members' types.
    @inlinable
    public static func slot<Root, Member>(for root: Root.Type, _ member: (Root) -> Member) -> Member? {
        nil
    }

    /// Reads the current member's value into `slot`; a key seen twice declines (JSONDecoder
    /// decides which one counts).
    @inlinable
    public mutating func read<T: WsJSONCodable>(into slot: inout T?) throws {
        guard slot == nil else { throw decline() }
        slot = try T(wsJSON: &self)
    }

    /// A member of a type without a codec of its own: decoded through its `init(from:)` by the
    /// span decoder.
    public mutating func read<T: Decodable>(into slot: inout T?) throws {
        guard slot == nil else { throw decline() }
        slot = try decodable(T.self)
    }

    /// Skips the current value (a member the type does not have).
    public mutating func skipValue() throws {
        position = try decoder.skipValue(position)
    }

    // MARK: arrays

    /// Enters the array at the current position.
    public mutating func beginArray() throws -> Members {
        guard decoder.byte(position) == UInt8(ascii: "[") else { throw decline() }
        position = try decoder.skipSpace(position + 1)
        return Members()
    }

    /// Moves to the next element and returns true, or past the closing bracket and returns false.
    public mutating func nextElement(_ elements: inout Members) throws -> Bool {
        if elements.first {
            elements.first = false
        } else {
            position = try decoder.skipSpace(position)
            switch decoder.byte(position) {
            case UInt8(ascii: ","):
                position = try decoder.skipSpace(position + 1)
                guard decoder.byte(position) != UInt8(ascii: "]") else { throw decline() }   // no trailing comma
            case UInt8(ascii: "]"): break
            default: throw decline()
            }
        }
        if decoder.byte(position) == UInt8(ascii: "]") {
            position += 1
            return false
        }
        return true
    }

    // MARK: scalars

    /// Consumes a `null` and returns true, or returns false and consumes nothing.
    public mutating func readNull() -> Bool {
        guard decoder.isNull(at: position) else { return false }
        position += 4
        return true
    }

    @inlinable @inline(__always)
    public mutating func readString() throws -> String {
        var next = 0
        let value = try decoder.string(at: position, next: &next)
        position = next
        return value
    }

    public mutating func readBool() throws -> Bool {
        let value = try decoder.bool(at: position)
        position += value ? 4 : 5
        return value
    }

    // Each number is read once: its reading tells where it ends.
    public mutating func readInteger<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        try decoder.integer(I.self, at: position, after: &position)
    }

    public mutating func readDouble() throws -> Double {
        try decoder.floatingPoint(Double.self, at: position, after: &position)
    }

    public mutating func readFloat() throws -> Float {
        try decoder.floatingPoint(Float.self, at: position, after: &position)
    }

    /// Any `Decodable` at the current position, through the span decoder.
    public mutating func decodable<T: Decodable>(_ type: T.Type) throws -> T {
        let length = try decoder.validValueLength(at: position)   // the span decoder reads valid JSON only
        if spanDecoder == nil { spanDecoder = WsSpanDecoder(decoder.bytes) }
        let value = try spanDecoder!.decodeValue(T.self, at: position, key: nil)
        position += length
        return value
    }
}

