/// The JSON wire protocol, and the one place that knows its envelope's keys. Reads
/// `{"event":E,"data":D,"id":N}` and a client's answer `{"ack":N,"data":D}`; writes
/// `{"event":E,"data":D}`, `{"event":E,"data":D,"id":N}` (asks for an ack),
/// `{"event":E,"data":D,"ack":N}` and `{"event":E,"error":X,"ack":N}` (answers), without
/// building a dictionary.
@usableFromInline
final class WsJSONEnvelope: WsWireCodec {
    @usableFromInline
    static let shared = WsJSONEnvelope()

    /// The envelope's keys, as the member scan looks for them (indices below).
    private let keys = JSONKeySet(["event", "data", "id", "ack"])
    private let (eventKey, dataKey, idKey, ackKey) = (0, 1, 2, 3)

    // MARK: reading

    @usableFromInline
    func decode(_ text: UnsafeRawBufferPointer) -> WsInbound {
        let members = keys.scan(text)
        guard members.isValid else { return .invalid(#"expected {"event":...,"data":...,"id":...}"#) }
        let data = members[dataKey].text
        let ack = members[ackKey]
        if ack.kind != .absent {
            guard let id = ack.safeInteger else { return .invalid("ack must be an integer from 0 to 2^53 - 1") }
            return .answer(id: id, payload: data)
        }
        let id = members[idKey]
        if id.kind != .absent && id.safeInteger == nil {
            return .invalid("id must be an integer from 0 to 2^53 - 1")
        }
        let event = members[eventKey]
        guard event.kind == .string, let quoted = event.text else {
            return .invalid(event.kind == .absent ? "the message has no event" : "event must be a string")
        }
        let name = UnsafeRawBufferPointer(rebasing: quoted[1..<quoted.count - 1])
        return .event(name: name, nameEscaped: event.escaped, payload: data, ack: id.safeInteger)
    }

    /// Valid UTF-8, one complete JSON object with an event name.
    @usableFromInline
    func isDeliverable(_ text: UnsafeRawBufferPointer) -> Bool {
        guard WsUTF8.isValid(text) else { return false }
        if case .event = decode(text) { return true }
        return false
    }

    // MARK: writing

    @usableFromInline
    func writeEvent(_ event: String, id: Int64?, into buffer: inout JSONBuffer, payload: WsPayloadWriter) throws {
        writeHead(event, field: "data", into: &buffer)
        try payload(&buffer)
        writeTail("id", id, into: &buffer)
    }

    @usableFromInline
    func writeEvent(_ event: String, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        buffer.put(UInt8(ascii: "}"))
    }

    @usableFromInline
    func ackPrefix(event: String) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 32 + event.utf8.count * 6)
        defer { buffer.free() }
        writeHead(event, field: "data", into: &buffer)
        return Array(buffer.bytes)
    }

    @usableFromInline
    func writeAck(_ ack: Int64, prefix: [UInt8], into buffer: inout JSONBuffer, payload: WsPayloadWriter) throws {
        buffer.put(prefix)
        try payload(&buffer)
        writeTail("ack", ack, into: &buffer)
    }

    @usableFromInline
    func writeAck(_ ack: Int64, event: String, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        writeTail("ack", ack, into: &buffer)
    }

    @usableFromInline
    func writeError(_ event: String, ack: Int64?, into buffer: inout JSONBuffer, error: WsPayloadWriter) throws {
        writeHead(event, field: "error", into: &buffer)
        try error(&buffer)
        writeTail("ack", ack, into: &buffer)
    }

    /// `{"event":E,"<field>":`
    private func writeHead(_ event: String, field: StaticString, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        buffer.put(UInt8(ascii: ","))
        buffer.put(UInt8(ascii: "\""))
        buffer.put(field)
        buffer.put(#"":"#)
    }

    /// `[,"<key>":N]}`
    private func writeTail(_ key: StaticString, _ number: Int64?, into buffer: inout JSONBuffer) {
        if let number {
            buffer.put(#",""#)
            buffer.put(key)
            buffer.put(#"":"#)
            buffer.writeInteger(number)
        }
        buffer.put(UInt8(ascii: "}"))
    }
}
