#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes an `Encodable` value straight into JSON bytes, in one pass, for the message path.
///
/// Foundation's JSONEncoder builds a tree of boxed values before writing it; on a gateway
/// echo that tree, its generic lookups and its allocations cost more than everything else the
/// server does per message. This writer streams: a keyed container writes `{` when it is
/// asked for, each member as it comes, and `}` once the value's `encode(to:)` returns.
/// Members come out in the order the type encodes them (a synthesized Codable uses
/// declaration order).
///
/// It declines (throws `Unsupported`) what it does not write exactly as JSONEncoder would —
/// nested containers requested by hand, super encoders, `Data`, `URL`, non-finite numbers —
/// and the caller then falls back to JSONEncoder, so the output is always valid JSON.
@usableFromInline
package struct WsJSONWriter {
    @usableFromInline
    package struct Unsupported: Error {
        @usableFromInline package init() {}
    }

    package static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let sink = Sink()
        try sink.encodeValue(value)
        if sink.unsupported { throw Unsupported() }
        return sink.bytes
    }

    /// Writes `value` at the end of `buffer`, in the same pass as whatever surrounds it (an
    /// envelope's prefix and suffix): no array of its own. Throws `Unsupported` for what it
    /// does not write exactly as JSONEncoder would; `buffer` then holds an unfinished value,
    /// and the caller starts again.
    package static func write<T: Encodable>(_ value: T, into buffer: inout JSONBuffer) throws {
        let sink = Sink(continuing: buffer)
        defer { buffer = sink.surrender() }
        try sink.encodeValue(value)
        if sink.unsupported { throw Unsupported() }
    }

    /// The same, with every `Data` and `[UInt8]` in `value` written as the placeholder
    /// `{"_placeholder":true,"num":N}` and its bytes appended to `attachments` (N counts from
    /// the number already there): binary as Socket.IO carries it.
    package static func write<T: Encodable>(_ value: T, into buffer: inout JSONBuffer, attachments: inout [[UInt8]]) throws {
        let sink = Sink(continuing: buffer)
        sink.attachments = attachments
        defer {
            buffer = sink.surrender()
            attachments = sink.attachments ?? []
        }
        try sink.encodeValue(value)
        if sink.unsupported { throw Unsupported() }
    }
}

/// The shared state of one encoding: the output and the containers still open.
final class Sink {
    // One Sink serves one encoding on one thread, and no access to these overlaps another:
    // the run-time exclusivity checks cost more than the writing (perf showed them at ~6%).
    /// The output: a buffer of its own rather than an array, whose every append checks
    /// uniqueness and capacity through generic code (callgrind: ~15 instructions a byte).
    @exclusivity(unchecked) var buffer: JSONBuffer
    /// For each open container: its closing byte and whether it has a member yet.
    @exclusivity(unchecked) var open: [(close: UInt8, hasMember: Bool)] = []
    /// Set by requests this writer does not serve (see WsJSONWriter); the result is discarded.
    var unsupported = false
    /// Where binary values go when they become placeholders (nil: they are not, and `Data`
    /// is declined as JSONEncoder writes it, in base64).
    var attachments: [[UInt8]]?

    init(capacity: Int = 256) {
        buffer = JSONBuffer(capacity: capacity)
    }

    /// Continues `buffer` (a codec's output, when one of its members has no codec of its own);
    /// `surrender` hands it back.
    init(continuing buffer: JSONBuffer) {
        self.buffer = buffer
    }

    func surrender() -> JSONBuffer {
        defer { buffer = JSONBuffer(capacity: 0) }
        return buffer
    }

    deinit { buffer.free() }

    var bytes: [UInt8] { Array(buffer.bytes) }
    var count: Int { buffer.count }

    func put(_ byte: UInt8) { buffer.put(byte) }
    func put(_ bytes: UnsafeRawBufferPointer) { buffer.put(bytes) }
    func put(_ bytes: [UInt8]) { buffer.put(bytes) }
    func put(_ text: StaticString) { buffer.put(text) }
    func writeString(_ text: String) { buffer.writeString(text) }
    func writeInteger(_ value: Int64) { buffer.writeInteger(value) }
    func writeUnsigned(_ value: UInt64) { buffer.writeUnsigned(value) }
    func writeDouble(_ value: Double) throws { try buffer.writeDouble(value) }
    func writeFloat(_ value: Float) throws { try buffer.writeFloat(value) }

    /// Scalars are told apart by comparing metatypes (a pointer comparison each) rather than by
    /// dynamic casts, which go through the runtime's conformance tables on every call; each
    /// bit cast is sound, as the comparison before it proves `T` is the type cast to.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == String.self { return writeString(unsafeBitCast(value, to: String.self)) }
        if T.self == Int.self { return writeInteger(Int64(unsafeBitCast(value, to: Int.self))) }
        if T.self == Bool.self { return put(unsafeBitCast(value, to: Bool.self) ? trueBytes : falseBytes) }
        if T.self == Double.self { return try writeDouble(unsafeBitCast(value, to: Double.self)) }
        if T.self == Int64.self { return writeInteger(unsafeBitCast(value, to: Int64.self)) }
        if T.self == Int32.self { return writeInteger(Int64(unsafeBitCast(value, to: Int32.self))) }
        if T.self == UInt32.self { return writeInteger(Int64(unsafeBitCast(value, to: UInt32.self))) }
        if T.self == Float.self { return try writeFloat(unsafeBitCast(value, to: Float.self)) }
        // The other integers: each is its own scalar (its encode(to:) would hand it straight
        // back to a single-value container, and so to this function, forever).
        if T.self == UInt64.self { return writeUnsigned(unsafeBitCast(value, to: UInt64.self)) }
        if T.self == UInt.self { return writeUnsigned(UInt64(unsafeBitCast(value, to: UInt.self))) }
        if T.self == UInt16.self { return writeInteger(Int64(unsafeBitCast(value, to: UInt16.self))) }
        if T.self == UInt8.self { return writeInteger(Int64(unsafeBitCast(value, to: UInt8.self))) }
        if T.self == Int16.self { return writeInteger(Int64(unsafeBitCast(value, to: Int16.self))) }
        if T.self == Int8.self { return writeInteger(Int64(unsafeBitCast(value, to: Int8.self))) }
        if attachments != nil, try writePlaceholder(value) { return }
        if T.self == Data.self || T.self == URL.self || T.self == Date.self || T.self == Decimal.self {
            throw WsJSONWriter.Unsupported()
        }
        let depth = open.count
        let start = count
        try value.encode(to: SinkEncoder(sink: self, depth: depth))
        while open.count > depth { put(open.removeLast().close) }
        // A value that encoded nothing: JSONEncoder writes an empty object.
        if count == start { put(emptyObject) }
    }

    /// A binary value as a placeholder, its bytes kept; false for any other value.
    private func writePlaceholder<T: Encodable>(_ value: T) throws -> Bool {
        let bytes: [UInt8]
        if T.self == Data.self {
            bytes = Array(unsafeBitCast(value, to: Data.self))
        } else if T.self == [UInt8].self {
            bytes = unsafeBitCast(value, to: [UInt8].self)
        } else {
            return false
        }
        put(#"{"_placeholder":true,"num":"#)
        writeInteger(Int64(attachments!.count))
        put(UInt8(ascii: "}"))
        attachments!.append(bytes)
        return true
    }

    func beginMember() {
        if open[open.count - 1].hasMember { put(UInt8(ascii: ",")) }
        open[open.count - 1].hasMember = true
    }
}

let trueBytes = Array("true".utf8)
let falseBytes = Array("false".utf8)
let nullBytes = Array("null".utf8)
private let emptyObject = Array("{}".utf8)
private let emptyString = Array("\"\"".utf8)

/// The Encoder handed to one value: it may ask for one container.
struct SinkEncoder: Encoder {
    let sink: Sink
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        open(UInt8(ascii: "{"), UInt8(ascii: "}"))
        return KeyedEncodingContainer(SinkKeyedContainer<Key>(sink: sink, level: depth))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        open(UInt8(ascii: "["), UInt8(ascii: "]"))
        return SinkUnkeyedContainer(sink: sink, level: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SinkSingleValueContainer(sink: sink)
    }

    /// A second container for the same value would interleave with the first: give up.
    private func open(_ opening: UInt8, _ closing: UInt8) {
        if sink.open.count > depth {
            sink.unsupported = true
            return
        }
        sink.put(opening)
        sink.open.append((close: closing, hasMember: false))
    }
}

private func check(_ sink: Sink, _ level: Int) throws {
    // A container is usable only while it is the innermost one open at its level.
    guard !sink.unsupported, sink.open.count == level + 1 else { throw WsJSONWriter.Unsupported() }
}

struct SinkKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let sink: Sink
    let level: Int
    var codingPath: [any CodingKey] { [] }

    private func key(_ key: Key) throws {
        try check(sink, level)
        sink.beginMember()
        sink.writeString(key.stringValue)
        sink.put(UInt8(ascii: ":"))
    }

    mutating func encodeNil(forKey key: Key) throws {
        try self.key(key)
        sink.put(nullBytes)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try self.key(key)
        try sink.encodeValue(value)
    }

    // The scalar requirements a synthesized encode(to:) calls, without the generic detour.
    mutating func encode(_ value: String, forKey key: Key) throws {
        try self.key(key)
        sink.writeString(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        try self.key(key)
        sink.writeInteger(Int64(value))
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try self.key(key)
        sink.put(value ? trueBytes : falseBytes)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        try self.key(key)
        try sink.writeDouble(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        sink.unsupported = true   // the caller falls back to JSONEncoder
        return KeyedEncodingContainer(SinkKeyedContainer<NestedKey>(sink: sink, level: level + 1))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        sink.unsupported = true
        return SinkUnkeyedContainer(sink: sink, level: level + 1)
    }

    mutating func superEncoder() -> any Encoder { SinkEncoder(sink: poisoned(), depth: 0) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { SinkEncoder(sink: poisoned(), depth: 0) }

    private func poisoned() -> Sink {
        sink.unsupported = true
        return sink
    }
}

struct SinkUnkeyedContainer: UnkeyedEncodingContainer {
    let sink: Sink
    let level: Int
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    mutating func encodeNil() throws {
        try check(sink, level)
        sink.beginMember()
        sink.put(nullBytes)
        count += 1
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try check(sink, level)
        sink.beginMember()
        try sink.encodeValue(value)
        count += 1
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        sink.unsupported = true
        return KeyedEncodingContainer(SinkKeyedContainer<NestedKey>(sink: sink, level: level + 1))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        sink.unsupported = true
        return SinkUnkeyedContainer(sink: sink, level: level + 1)
    }

    mutating func superEncoder() -> any Encoder {
        sink.unsupported = true
        return SinkEncoder(sink: sink, depth: 0)
    }
}

struct SinkSingleValueContainer: SingleValueEncodingContainer {
    let sink: Sink
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { sink.put(nullBytes) }
    mutating func encode<T: Encodable>(_ value: T) throws { try sink.encodeValue(value) }
}
