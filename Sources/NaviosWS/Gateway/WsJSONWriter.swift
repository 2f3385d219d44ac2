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
struct WsJSONWriter {
    struct Unsupported: Error {}

    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let sink = Sink()
        try sink.encodeValue(value)
        if sink.unsupported { throw Unsupported() }
        return sink.bytes
    }
}

/// The shared state of one encoding: the output and the containers still open.
final class Sink {
    // One Sink serves one encoding on one thread, and no access to these overlaps another:
    // the run-time exclusivity checks cost more than the writing (perf showed them at ~6%).
    @exclusivity(unchecked) var bytes: [UInt8] = []
    /// For each open container: its closing byte and whether it has a member yet.
    @exclusivity(unchecked) var open: [(close: UInt8, hasMember: Bool)] = []
    /// Set by requests this writer does not serve (see WsJSONWriter); the result is discarded.
    var unsupported = false

    init() { bytes.reserveCapacity(128) }

    func encodeValue<T: Encodable>(_ value: T) throws {
        switch value {
        case let v as String: writeString(v)
        case let v as Bool: bytes += v ? trueBytes : falseBytes
        case let v as Int: writeInteger(Int64(v))
        case let v as Int64: writeInteger(v)
        case let v as Int32: writeInteger(Int64(v))
        case let v as UInt32: writeInteger(Int64(v))
        case let v as Double: try writeDouble(v)
        case let v as Float: try writeDouble(Double(v))
        case is Data, is URL: throw WsJSONWriter.Unsupported()
        default:
            let depth = open.count
            let start = bytes.count
            try value.encode(to: SinkEncoder(sink: self, depth: depth))
            while open.count > depth { bytes.append(open.removeLast().close) }
            // A value that encoded nothing: JSONEncoder writes an empty object.
            if bytes.count == start { bytes += emptyObject }
        }
    }

    func beginMember() {
        if open[open.count - 1].hasMember { bytes.append(UInt8(ascii: ",")) }
        open[open.count - 1].hasMember = true
    }

    func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                          hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    func writeInteger(_ value: Int64) { bytes += Array(String(value).utf8) }

    func writeDouble(_ value: Double) throws {
        guard value.isFinite else { throw WsJSONWriter.Unsupported() }
        // Integral values as integers, as JSONEncoder writes them ("3", not "3.0").
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            writeInteger(Int64(value))
        } else {
            bytes += Array(value.description.utf8)
        }
    }
}

private let trueBytes = Array("true".utf8)
private let falseBytes = Array("false".utf8)
private let nullBytes = Array("null".utf8)
private let emptyObject = Array("{}".utf8)
private let hexDigits = Array("0123456789abcdef".utf8)

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
        sink.bytes.append(opening)
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
        sink.bytes.append(UInt8(ascii: ":"))
    }

    mutating func encodeNil(forKey key: Key) throws {
        try self.key(key)
        sink.bytes += nullBytes
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try self.key(key)
        try sink.encodeValue(value)
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
        sink.bytes += nullBytes
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

    mutating func encodeNil() throws { sink.bytes += nullBytes }
    mutating func encode<T: Encodable>(_ value: T) throws { try sink.encodeValue(value) }
}
