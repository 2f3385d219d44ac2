/// The JSON wire protocol, and the one place that knows its envelope's keys. Reads
/// `{"event":E,"data":D,"id":N}` and a client's answer `{"ack":N,"data":D}`; writes
/// `{"event":E,"data":D}`, `{"event":E,"data":D,"id":N}` (asks for an ack),
/// `{"event":E,"data":D,"ack":N}` and `{"event":E,"error":X,"ack":N}` (answers), without
/// building a dictionary. A connection carries one namespace (its URL's), so no message names it.
@usableFromInline
enum WsJSONEnvelope: WsFrameDecoding {
    /// The envelope's keys, as the member scan looks for them: event, data, id, ack. An object
    /// or array `data` is only delimited: whoever reads the payload validates it (the payload
    /// decoders do as they read), so it is not validated twice.
    private static let keys = JSONKeySet(["event", "data", "id", "ack"], delimitOnly: ["data"])

    // MARK: reading

    @usableFromInline @inline(__always)
    static func decode(_ text: UnsafeRawBufferPointer) -> WsInbound {
        withUnsafeTemporaryAllocation(of: JSONMember.self, capacity: 4) { members in
            decode(text, members.baseAddress!)
        }
    }

    /// The member scan's fields are read in place: only the members whose bit is set in `found`
    /// were written.
    @inline(__always)
    private static func decode(_ text: UnsafeRawBufferPointer, _ members: UnsafeMutablePointer<JSONMember>) -> WsInbound {
        let found = keys.scan(text, into: members)
        guard found >= 0 else { return .invalid(#"expected {"event":...,"data":...,"id":...}"#) }
        let data = found & 2 != 0 ? UnsafeRawBufferPointer(start: members[1].value, count: members[1].len) : nil
        if found & 8 != 0 {
            guard members[3].is_safe_integer != 0 else { return .invalid("ack must be an integer from 0 to 2^53 - 1") }
            return .answer(id: members[3].integer, payload: data)
        }
        var ack: Int64?
        if found & 4 != 0 {
            guard members[2].is_safe_integer != 0 else { return .invalid("id must be an integer from 0 to 2^53 - 1") }
            ack = members[2].integer
        }
        guard found & 1 != 0 else { return .invalid("the message has no event") }
        let event = members[0]
        guard event.kind == JSONKeySet.stringKind else { return .invalid("event must be a string") }
        // Between the quotes.
        let name = UnsafeRawBufferPointer(start: event.value! + 1, count: event.len - 2)
        return .event(name: name, nameEscaped: event.escaped != 0, payload: data, ack: ack)
    }

    /// Valid UTF-8, one complete JSON object with an event name.
    @usableFromInline
    static func isDeliverable(_ text: UnsafeRawBufferPointer) -> Bool {
        guard WsUTF8.isValid(text), case .event(_, _, let payload, _) = decode(text) else { return false }
        return payload.map(isValidJSON) ?? true   // the payload too, whole: it goes to clients as it is
    }

    // MARK: writing

    @usableFromInline
    static func writeEventHead(_ event: String, namespace: String, id: Int64?, into buffer: inout JSONBuffer) {
        writeHead(event, field: #","data":"#, into: &buffer)
    }

    @usableFromInline
    static func writeEventTail(id: Int64?, offset: String?, into buffer: inout JSONBuffer) {
        writeOffset(offset, into: &buffer)
        writeTail(#","id":"#, id, into: &buffer)
    }

    /// `,"offset":"..."` of a broadcast kept for recovery.
    private static func writeOffset(_ offset: String?, into buffer: inout JSONBuffer) {
        guard let offset else { return }
        buffer.put(#","offset":"#)
        buffer.writeString(offset)
    }

    @usableFromInline
    static func writeEvent(_ event: String, namespace: String, offset: String?, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        writeOffset(offset, into: &buffer)
        buffer.put(UInt8(ascii: "}"))
    }

    /// `{"event":E,"data":`: the acknowledgement is this, the result, and `,"ack":N}`.
    @usableFromInline
    static func ackPrefix(event: String, namespace: String) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 32 + event.utf8.count * 6)
        defer { buffer.free() }
        writeHead(event, field: #","data":"#, into: &buffer)
        return Array(buffer.bytes)
    }

    @usableFromInline
    static func writeAckHead(_ ack: Int64, prefix: [UInt8], into buffer: inout JSONBuffer) {
        buffer.put(prefix)
    }

    @usableFromInline
    static func writeAckTail(_ ack: Int64, into buffer: inout JSONBuffer) {
        writeTail(#","ack":"#, ack, into: &buffer)
    }

    @usableFromInline
    static func writeAck(_ ack: Int64, event: String, namespace: String, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        writeTail(#","ack":"#, ack, into: &buffer)
    }

    @usableFromInline
    static func writeErrorHead(_ event: String, namespace: String, ack: Int64?, into buffer: inout JSONBuffer) {
        writeHead(event, field: #","error":"#, into: &buffer)
    }

    @usableFromInline
    static func writeErrorTail(ack: Int64?, into buffer: inout JSONBuffer) {
        writeTail(#","ack":"#, ack, into: &buffer)
    }

    /// One argument is `data`, several an array, none no `data` (``WsArguments``); attachments
    /// stay placeholders.
    @usableFromInline
    static func writeArguments(
        _ arguments: WsArguments, event: String, namespace: String, id: Int64?, ack: Int64?, offset: String?,
        into buffer: inout JSONBuffer
    ) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        let start = buffer.count
        buffer.put(#","data":"#)
        if !arguments.writePayload(into: &buffer) { buffer.truncate(to: start) }
        if let ack { return writeTail(#","ack":"#, ack, into: &buffer) }
        writeEventTail(id: id, offset: offset, into: &buffer)
    }

    @usableFromInline
    static var carriesAttachments: Bool { false }

    @usableFromInline
    static func writePayload<T: Encodable>(_ value: T, into buffer: inout JSONBuffer, attachments: inout [[UInt8]]) throws {
        try JSONEncoding.write(value, into: &buffer)
    }

    /// `{"event":E` and `field`, which is `,"<key>":`
    private static func writeHead(_ event: String, field: StaticString, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        buffer.put(field)
    }

    /// `[<key>N]}`, `key` being `,"<key>":`
    private static func writeTail(_ key: StaticString, _ number: Int64?, into buffer: inout JSONBuffer) {
        if let number {
            buffer.put(key)
            buffer.writeInteger(number)
        }
        buffer.put(UInt8(ascii: "}"))
    }
}
