import NaviosJSON

/// An event's arguments as the client sent them, for a handler that takes any number of them
/// (Socket.IO's `socket.on("message", (...args) => ...)`) or passes them on unchanged: emitted
/// or returned as a result, they go out as the same arguments, in the client's own bytes.
///
/// How arguments map onto payloads (DESIGN §4): a Socket.IO event with one argument has that
/// argument as its payload; with several, the payload is the array of them; with none, there is
/// no payload. A JSON-protocol message has one argument, its `data` (none without `data`), and
/// writing arguments back to a JSON client follows the same rule: one argument is `data`,
/// several are an array. Binary arguments (Socket.IO attachments) are the placeholders
/// `{"_placeholder":true,"num":N}` in ``json`` and their bytes in ``attachments``; a JSON client
/// is sent the placeholders only, its protocol having no attachments.
public struct WsArguments: Sendable, Equatable, Codable {
    /// The arguments as one JSON array, e.g. `[1,"2",{"3":[true]}]`.
    public let json: [UInt8]
    /// The binary arguments, by placeholder number.
    public let attachments: [[UInt8]]
    /// Each argument's bytes in ``json``.
    let elements: [Range<Int>]

    /// Nil when `json` is not a JSON array.
    public init?(json: [UInt8], attachments: [[UInt8]] = []) {
        guard let elements = json.withUnsafeBytes({ JSONArrayShape.elements(of: $0) }) else { return nil }
        self.json = json
        self.attachments = attachments
        self.elements = elements
    }

    /// Arguments written by the caller: `values` encoded as JSON, one argument each.
    public init(_ values: [WsJSONValue]) throws {
        let bytes = try JSONEncoding.encode(values)
        self.init(json: bytes)!   // an array of values encodes as an array
    }

    public var count: Int { elements.count }

    /// The JSON of argument `index`.
    public func argument(_ index: Int) -> ArraySlice<UInt8> { json[elements[index]] }

    /// Argument `index` decoded as `T` (nil when there is no such argument or it is not a `T`).
    public func decode<T: Decodable>(_ type: T.Type, at index: Int) -> T? {
        guard index < count else { return nil }
        return json[elements[index]].withUnsafeBytes { try? WsPayloadDecoding.decode(T.self, from: $0) }
    }

    /// The payload these arguments make (one argument: itself; several: the array; none: nil),
    /// written at the end of `buffer`; true when there was one.
    func writePayload(into buffer: inout JSONBuffer) -> Bool {
        guard let payload else { return false }
        buffer.put(payload)
        return true
    }

    /// The payload these arguments make, as bytes (see ``writePayload(into:)``).
    var payload: [UInt8]? {
        switch count {
        case 0: return nil
        case 1: return Array(argument(0))
        default: return json
        }
    }

    /// One argument: a JSON client's `data` (nil: none).
    init(payload: UnsafeRawBufferPointer?) {
        guard let payload else {
            self.init(json: Array("[]".utf8))!
            return
        }
        var json: [UInt8] = [UInt8(ascii: "[")]
        json += payload
        json.append(UInt8(ascii: "]"))
        // A payload the reader delimited but did not validate may not be JSON: then it is one
        // argument no decoder will take, as its `data` would be.
        self = WsArguments(json: json) ?? WsArguments(json: json, elements: [1..<(json.count - 1)])
    }

    private init(json: [UInt8], elements: [Range<Int>]) {
        self.json = json
        self.attachments = []
        self.elements = elements
    }

    /// The arguments one after another, comma-separated, without the array's brackets.
    func writeSpread(into buffer: inout JSONBuffer) {
        guard let first = elements.first, let last = elements.last else { return }
        buffer.put(Array(json[first.lowerBound..<last.upperBound]))
    }

    // Codable: as the array of its arguments (what a JSON client, or a cluster message, sees).

    public init(from decoder: any Decoder) throws {
        let values = try [WsJSONValue](from: decoder)
        try self.init(values)
    }

    public func encode(to encoder: any Encoder) throws {
        let values = try json.withUnsafeBytes { try WsPayloadDecoding.decode([WsJSONValue].self, from: $0) }
        try values.encode(to: encoder)
    }

    public static func == (lhs: WsArguments, rhs: WsArguments) -> Bool {
        lhs.json == rhs.json && lhs.attachments == rhs.attachments
    }
}

extension WsArguments {
    /// `value` when it is arguments (`T` is `WsArguments`), else nil. The type is compared
    /// first: a pointer comparison, where a cast would be a dynamic cast on every emit of a
    /// generic caller that is not specialised.
    @inlinable
    static func from<T>(_ value: T) -> WsArguments? {
        guard T.self == WsArguments.self else { return nil }
        return value as? WsArguments
    }
}

/// The binary attachments that arrived with a Socket.IO packet, handed to its handler beside the
/// payload's JSON. A class: nil for every message that has none, one word to pass.
@usableFromInline
final class WsAttachments: Sendable {
    let buffers: [[UInt8]]
    init(_ buffers: [[UInt8]]) { self.buffers = buffers }
}
