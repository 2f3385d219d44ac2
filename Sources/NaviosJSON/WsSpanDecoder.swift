#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
internal import CNaviosJSON

/// Decodes a payload straight from the bytes of the envelope's `data` span, for the message
/// path.
///
/// JSONDecoder copies the bytes into `Data`, builds a map of every value, and looks types up
/// at run time; on a gateway echo that costs more than the whole C core. This decoder walks
/// the span on demand: a keyed container finds its key by scanning the object's members, a
/// string without escapes becomes a `String` with one copy, a number is parsed in place.
///
/// It only has to be right when it succeeds. On anything it does not decode exactly as
/// JSONDecoder would — a missing key, a type mismatch, an escaped key, a lone surrogate, a
/// number with a fraction for an integer, `Date`/`Data`/`URL`/`Decimal`, a super decoder —
/// it throws `Decline`, and `WsPayloadDecoding` decodes the same bytes with JSONDecoder, whose
/// answer (a value, or the error the client is told about) is then the answer. Errors are
/// rare, so the second pass costs nothing on the hot path.
final class WsSpanDecoder: Decoder {
    typealias Decline = JSONSpan.Decline

    let span: JSONSpan
    var bytes: UnsafeRawBufferPointer { span.bytes }
    /// The value being decoded: from its first byte (after white space) to the end of the span
    /// that contains it.
    fileprivate var start: Int
    var codingPath: [any CodingKey] = []
    /// Set by every decline, even one that a type's own `init(from:)` caught with `try?`: the
    /// value it then built may differ from JSONDecoder's, so the whole decode is redone there.
    private(set) var declined = false
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ bytes: UnsafeRawBufferPointer) {
        span = JSONSpan(bytes)
        start = 0
    }

    /// `bytes` must hold one valid JSON value (as the C core's scanner guarantees for a `data`
    /// span); literals and escapes are not checked again.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let decoder = WsSpanDecoder(bytes)
        decoder.start = try decoder.skipSpace(0)
        let value = try decoder.decodeValue(T.self, at: decoder.start, key: nil)
        guard !decoder.declined else { throw Decline() }
        return value
    }

    func decline() -> Decline {
        declined = true
        return Decline()
    }

    // MARK: Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard byte(start) == .openBrace else { throw decline() }
        return KeyedDecodingContainer(SpanKeyedContainer<Key>(decoder: self, object: start, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard byte(start) == .openBracket else { throw decline() }
        return try SpanUnkeyedContainer(decoder: self, array: start, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SpanSingleValueContainer(decoder: self, value: start, codingPath: codingPath)
    }

    // MARK: values

    /// A nested value of any type: primitives directly, anything else through its
    /// `init(from:)` with this decoder moved to the value. The casts are sound: each follows a
    /// comparison that proves `T` is the very type cast to (cheaper than a dynamic cast).
    func decodeValue<T: Decodable>(_ type: T.Type, at position: Int, key: (any CodingKey)?) throws -> T {
        if T.self == String.self { return try unsafeBitCast(string(at: position), to: T.self) }
        if T.self == Int.self { return try unsafeBitCast(integer(Int.self, at: position), to: T.self) }
        if T.self == Double.self { return try unsafeBitCast(double(at: position), to: T.self) }
        if T.self == Bool.self { return try unsafeBitCast(bool(at: position), to: T.self) }
        // Types JSONDecoder decodes by its own rules, whatever their init(from:) says.
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Decimal.self {
            throw decline()
        }
        let saved = (start, codingPath.count)
        start = position
        if let key { codingPath.append(key) }
        defer {
            start = saved.0
            if codingPath.count > saved.1 { codingPath.removeLast() }
        }
        return try T(from: self)
    }

    // The span's scanning; a decline marks the whole decode as declined (see `declined`).

    @inline(__always)
    private func marking<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch {
            throw decline()
        }
    }

    func byte(_ position: Int) -> UInt8 { span.byte(position) }
    func skipSpace(_ position: Int) throws -> Int { try marking { try span.skipSpace(position) } }
    func isNull(at position: Int) -> Bool { span.isNull(at: position) }
    func bool(at position: Int) throws -> Bool { try marking { try span.bool(at: position) } }
    func string(at position: Int) throws -> String { try marking { try span.string(at: position) } }
    func plainRun(from position: Int) -> Int { span.plainRun(from: position) }
    func integer<I: FixedWidthInteger>(_ type: I.Type, at position: Int) throws -> I {
        try marking { try span.integer(I.self, at: position) }
    }
    func double(at position: Int) throws -> Double { try marking { try span.double(at: position) } }
    func float(at position: Int) throws -> Float { try marking { try span.float(at: position) } }
    /// Spans this decoder reads were validated before: only a value's end is looked for.
    func skipValidatedValue(_ position: Int) throws -> Int { try marking { try span.skipValidatedValue(position) } }
}

// MARK: - containers

private struct SpanKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: WsSpanDecoder
    let object: Int
    let codingPath: [any CodingKey]

    init(decoder: WsSpanDecoder, object: Int, codingPath: [any CodingKey]) {
        self.decoder = decoder
        self.object = object
        self.codingPath = codingPath
    }

    /// One member: its key's bytes (between the quotes) and where its value starts.
    private struct Member {
        var keyStart: Int
        var keyEnd: Int
        var value: Int
    }

    /// The member at `p` (its opening quote), or nil at the closing brace. Escaped keys decline:
    /// they would need decoding to compare.
    private func member(at p: Int) throws -> Member? {
        if decoder.byte(p) == .closeBrace { return nil }
        guard decoder.byte(p) == .quote else { throw decoder.decline() }
        let keyEnd = decoder.plainRun(from: p + 1)
        guard decoder.byte(keyEnd) == .quote else { throw decoder.decline() }
        let colon = try decoder.skipSpace(keyEnd + 1)
        guard decoder.byte(colon) == .colon else { throw decoder.decline() }
        return Member(keyStart: p + 1, keyEnd: keyEnd, value: try decoder.skipSpace(colon + 1))
    }

    /// Where the member after `member` starts (its quote, or the closing brace).
    private func next(after member: Member) throws -> Int {
        let p = try decoder.skipSpace(try decoder.skipValidatedValue(member.value))
        switch decoder.byte(p) {
        case .comma: return try decoder.skipSpace(p + 1)
        case .closeBrace: return p
        default: throw decoder.decline()
        }
    }

    private func forEachMember(_ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        var p = try decoder.skipSpace(object + 1)
        while let m = try member(at: p) {
            try body(UnsafeRawBufferPointer(rebasing: decoder.bytes[m.keyStart..<m.keyEnd]), m.value)
            p = try next(after: m)
        }
    }

    /// Where the value of `key` starts, or nil. A key written twice declines (JSONDecoder
    /// decides which one counts), so every member is looked at.
    private func find(_ key: Key) throws -> Int? {
        var name = key.stringValue
        return try name.withUTF8 { wanted -> Int? in
            var found: Int?
            var p = try decoder.skipSpace(object + 1)
            while let m = try member(at: p) {
                if m.keyEnd - m.keyStart == wanted.count,
                   UnsafeRawBufferPointer(rebasing: decoder.bytes[m.keyStart..<m.keyEnd]).elementsEqual(wanted) {
                    if found != nil { throw decoder.decline() }
                    found = m.value
                }
                p = try next(after: m)
            }
            return found
        }
    }

    private func value(_ key: Key) throws -> Int {
        guard let position = try find(key) else { throw decoder.decline() }
        return position
    }

    var allKeys: [Key] {
        var keys: [Key] = []
        _ = try? forEachMember { member, _ in
            if let key = Key(stringValue: String(decoding: member, as: UTF8.self)) { keys.append(key) }
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { (try? find(key)) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { decoder.isNull(at: try value(key)) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.bool(at: value(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.string(at: value(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.double(at: value(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder.float(at: value(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.integer(Int.self, at: value(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.integer(Int8.self, at: value(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.integer(Int16.self, at: value(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.integer(Int32.self, at: value(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.integer(Int64.self, at: value(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.integer(UInt.self, at: value(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.integer(UInt8.self, at: value(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.integer(UInt16.self, at: value(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.integer(UInt32.self, at: value(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.integer(UInt64.self, at: value(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.decodeValue(T.self, at: value(key), key: key)
    }

    /// One scan for the common optional fields instead of contains + decodeNil + decode.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try present(key).map { try decoder.string(at: $0) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try present(key).map { try decoder.integer(Int.self, at: $0) }
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try present(key).map { try decoder.double(at: $0) }
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try present(key).map { try decoder.bool(at: $0) }
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try present(key).map { try decoder.decodeValue(T.self, at: $0, key: key) }
    }

    private func present(_ key: Key) throws -> Int? {
        guard let position = try find(key), !decoder.isNull(at: position) else { return nil }
        return position
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let position = try value(key)
        guard decoder.byte(position) == .openBrace else { throw decoder.decline() }
        return KeyedDecodingContainer(SpanKeyedContainer<NestedKey>(decoder: decoder, object: position, codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let position = try value(key)
        guard decoder.byte(position) == .openBracket else { throw decoder.decline() }
        return try SpanUnkeyedContainer(decoder: decoder, array: position, codingPath: codingPath + [key])
    }

    func superDecoder() throws -> any Decoder { throw decoder.decline() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw decoder.decline() }
}


/// How JSONDecoder names an array position in a coding path ("Index 2"), so that errors read
/// the same whichever decoder got there.
private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct SpanUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: WsSpanDecoder
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0
    /// The next element's first byte, or the closing bracket.
    private var position: Int

    init(decoder: WsSpanDecoder, array: Int, codingPath: [any CodingKey]) throws {
        self.decoder = decoder
        self.codingPath = codingPath
        position = try decoder.skipSpace(array + 1)
    }

    var isAtEnd: Bool { decoder.byte(position) == .closeBracket }

    var count: Int? {
        var copy = self
        var n = 0
        while !copy.isAtEnd {
            guard (try? copy.advance()) != nil else { return nil }
            n += 1
        }
        return n
    }

    /// The current element's position; moves past it and its comma.
    private mutating func advance() throws -> Int {
        guard !isAtEnd else { throw decoder.decline() }
        let element = position
        var p = try decoder.skipSpace(try decoder.skipValidatedValue(element))
        switch decoder.byte(p) {
        case .comma: p = try decoder.skipSpace(p + 1)
        case .closeBracket: break
        default: throw decoder.decline()
        }
        position = p
        currentIndex += 1
        return element
    }

    mutating func decodeNil() throws -> Bool {
        guard decoder.isNull(at: position) else { return false }
        _ = try advance()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool(at: advance()) }
    mutating func decode(_ type: String.Type) throws -> String { try decoder.string(at: advance()) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decoder.double(at: advance()) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decoder.float(at: advance()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decoder.integer(Int.self, at: advance()) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(Int64.self, at: advance()) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(Int32.self, at: advance()) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(UInt8.self, at: advance()) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let index = currentIndex
        return try decoder.decodeValue(T.self, at: advance(), key: IndexKey(index))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let index = currentIndex
        let element = try advance()
        guard decoder.byte(element) == .openBrace else { throw decoder.decline() }
        return KeyedDecodingContainer(SpanKeyedContainer<NestedKey>(decoder: decoder, object: element, codingPath: codingPath + [IndexKey(index)]))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let index = currentIndex
        let element = try advance()
        guard decoder.byte(element) == .openBracket else { throw decoder.decline() }
        return try SpanUnkeyedContainer(decoder: decoder, array: element, codingPath: codingPath + [IndexKey(index)])
    }

    mutating func superDecoder() throws -> any Decoder { throw decoder.decline() }
}

private struct SpanSingleValueContainer: SingleValueDecodingContainer {
    let decoder: WsSpanDecoder
    let value: Int
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { decoder.isNull(at: value) }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool(at: value) }
    func decode(_ type: String.Type) throws -> String { try decoder.string(at: value) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.double(at: value) }
    func decode(_ type: Float.Type) throws -> Float { try decoder.float(at: value) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.integer(Int.self, at: value) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(Int8.self, at: value) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(Int16.self, at: value) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(Int32.self, at: value) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(Int64.self, at: value) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(UInt.self, at: value) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(UInt8.self, at: value) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(UInt16.self, at: value) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(UInt32.self, at: value) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(UInt64.self, at: value) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self, at: value, key: nil) }
}

/// A `Decodable` value read in place from a span of JSON text that is known to be valid: the
/// span decoder's one entry point for the other modules. Throws for whatever it declines (a
/// caller then decodes with JSONDecoder, whose value or error is the answer).
package func decodeInPlace<T: Decodable>(_ type: T.Type, from json: UnsafeRawBufferPointer) throws -> T {
    try WsSpanDecoder.decode(type, from: json)
}
