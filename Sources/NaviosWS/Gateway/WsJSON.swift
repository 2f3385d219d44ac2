internal import CNaviosWS
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON protocol's envelopes, written without building a dictionary:
/// `{"event":E,"data":D}`, `{"event":E,"data":D,"id":N}` (asks for an ack),
/// `{"event":E,"data":D,"ack":N}` and `{"event":E,"error":X,"ack":N}` (answers).
@usableFromInline
enum WsJSON {
    /// Shared: swift-foundation's JSONEncoder keeps its options behind a lock and each encode
    /// its own state, so one instance serves every thread. Sorted keys keep the output stable
    /// for tests and caches.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The streaming writer first; JSONEncoder for what it declines.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let bytes = try? WsJSONWriter.encode(value) { return bytes }
        return Array(try encoder.encode(value))
    }

    /// `{"event":E,"data":<value>[,"<tail>":N]}`: streamed in one buffer when the writer can,
    /// else the value through JSONEncoder and the envelope around it.
    static func envelope<T: Encodable>(event: String, value: T, tail: (String, Int64)? = nil) throws -> [UInt8] {
        if let bytes = try? WsJSONWriter.envelope(event: event, value: value, tail: tail) { return bytes }
        return envelope(event: event, json: Array(try encoder.encode(value)), tail: tail)
    }

    /// The same envelope lent to `body`, without an array when the writer serves the value.
    @usableFromInline
    static func withEnvelope<T: Encodable, R>(
        event: String, value: T, tail: (String, Int64)? = nil, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        if let result = try? WsJSONWriter.withEnvelope(event: event, value: value, tail: tail, body) { return result }
        return try envelope(event: event, json: Array(try encoder.encode(value)), tail: tail).withUnsafeBytes(body)
    }

    /// A handler's reply of a ``WsJSONCodable`` value: `prefix` is `WsJSONWriter.envelopePrefix`
    /// of `event`; the value's own codec writes it, and its `Encodable` route when that throws.
    @inlinable
    static func withReply<T: WsJSONCodable>(
        event: String, prefix: [UInt8], codable value: T, ack: Int64?, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        do {
            try WsJSONWriter.withEnvelope(prefix: prefix, codable: value, ack: ack, body)
        } catch is WsJSONWriter.Unsupported {
            try withEnvelope(event: event, value: value, tail: ack.map { ("ack", $0) }, body)
        }
    }

    /// The same reply sent to `client`, which is passed rather than captured by a closure (a
    /// capture would count a reference per message).
    @inlinable
    static func reply<T: WsJSONCodable>(
        to client: WsClient, event: String, prefix: [UInt8], codable value: T, ack: Int64
    ) throws {
        do {
            try WsJSONWriter.withEnvelope(prefix: prefix, codable: value, ack: ack, to: client)
        } catch is WsJSONWriter.Unsupported {
            try withEnvelope(event: event, value: value, tail: ("ack", ack)) { client.send($0) }
        }
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    static func quoted(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(text.utf8.count + 2)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static let eventPrefix = Array("{\"event\":".utf8)

    /// Whether `text` is an envelope this protocol sends: valid UTF-8, one complete JSON object
    /// with an event name. Bytes that come from elsewhere (another instance) are checked with
    /// it before a client sees them.
    static func isEnvelope(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self),
              nws_utf8_valid(base, text.count) != 0 else { return false }
        var envelope = nws_envelope()
        return nws_json_envelope(base, text.count, &envelope) == 0 && envelope.event != nil
    }

    /// `{"event":<event>,"<field>":<json>[,"<tail>":<number>]}`
    static func envelope(event: String, field: String = "data", json: [UInt8]?, tail: (String, Int64)? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + event.utf8.count + (json?.count ?? 0))
        out += eventPrefix
        out += quoted(event)
        if let json {
            out += Array(",\"\(field)\":".utf8)
            out += json
        }
        if let (name, value) = tail {
            out += Array(",\"\(name)\":\(value)".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// A JSON value of unknown shape: `handshake.auth`, `client.data` entries that came from the
/// wire, and payloads as guards see them.
public enum WsJSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([WsJSONValue])
    case object([String: WsJSONValue])

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public subscript(key: String) -> WsJSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let n = try? container.decode(Double.self) { self = .number(n) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([WsJSONValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: WsJSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n): try container.encode(n)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}
