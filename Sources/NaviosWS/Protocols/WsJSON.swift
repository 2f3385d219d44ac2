/// The JSON wire protocol: the one place that knows its envelope's keys. Reads
/// `{"event":E,"data":D,"id":N}` and a client's answer `{"ack":N,"data":D}`; writes
/// `{"event":E,"data":D}`, `{"event":E,"data":D,"id":N}` (asks for an ack),
/// `{"event":E,"data":D,"ack":N}` and `{"event":E,"error":X,"ack":N}` (answers), without
/// building a dictionary.
@usableFromInline
enum WsJSON {
    // MARK: reading

    /// The envelope's keys, as the member scan looks for them (indices below).
    private static let keys = JSONKeySet(["event", "data", "id", "ack"])
    private static let (eventKey, dataKey, idKey, ackKey) = (0, 1, 2, 3)

    /// What one text frame carries, or why the runtime cannot act on it (its words for the
    /// client). The bytes are the frame's, lent for the duration of `body`.
    static func decode<R>(_ text: UnsafeRawBufferPointer, _ body: (WsInbound) throws -> R) rethrows -> R {
        try keys.scan(text) { members in
            guard let members else { return try body(.invalid(#"expected {"event":...,"data":...,"id":...}"#)) }
            let data = members[dataKey].text
            let ack = members[ackKey]
            if ack.kind != .absent {
                guard let id = ack.safeInteger else { return try body(.invalid("ack must be an integer from 0 to 2^53 - 1")) }
                return try body(.answer(id: id, payload: data))
            }
            let id = members[idKey]
            if id.kind != .absent && id.safeInteger == nil {
                return try body(.invalid("id must be an integer from 0 to 2^53 - 1"))
            }
            let event = members[eventKey]
            guard event.kind == .string, let quoted = event.text else {
                return try body(.invalid(event.kind == .absent ? "the message has no event" : "event must be a string"))
            }
            let name = UnsafeRawBufferPointer(rebasing: quoted[1..<quoted.count - 1])
            return try body(.event(name: name, nameEscaped: event.escaped, payload: data, ack: id.safeInteger))
        }
    }

    /// Whether `text` is an envelope this protocol sends: valid UTF-8, one complete JSON object
    /// with an event name. Bytes that come from elsewhere (another instance) are checked with
    /// it before a client sees them.
    static func isEnvelope(_ text: UnsafeRawBufferPointer) -> Bool {
        guard WsUTF8.isValid(text) else { return false }
        return decode(text) { inbound in
            if case .event = inbound { return true }
            return false
        }
    }

    // MARK: writing

    /// `{"event":E,"data":<value>[,"<tail>":N]}` as an array.
    static func envelope<T: Encodable>(event: String, value: T, tail: (String, Int64)? = nil) throws -> [UInt8] {
        try withEnvelope(event: event, value: value, tail: tail) { Array($0) }
    }

    /// The same envelope lent to `body`: the value written into the envelope's buffer, no
    /// array of its own.
    @usableFromInline
    static func withEnvelope<T: Encodable, R>(
        event: String, value: T, tail: (String, Int64)? = nil, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        var buffer = JSONBuffer(capacity: 256)
        defer { buffer.free() }
        writeHead(event: event, field: "data", into: &buffer)
        try JSONEncoding.write(value, into: &buffer)
        writeTail(tail, into: &buffer)
        return try body(buffer.bytes)
    }

    /// `{"event":E,"<field>":`
    private static func writeHead(event: String, field: StaticString, into buffer: inout JSONBuffer) {
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        buffer.put(UInt8(ascii: ","))
        buffer.put(UInt8(ascii: "\""))
        buffer.put(field)
        buffer.put(UInt8(ascii: "\""))
        buffer.put(UInt8(ascii: ":"))
    }

    /// `[,"<name>":N]}`
    private static func writeTail(_ tail: (String, Int64)?, into buffer: inout JSONBuffer) {
        if let (name, number) = tail {
            buffer.put(UInt8(ascii: ","))
            buffer.writeString(name)
            buffer.put(UInt8(ascii: ":"))
            buffer.writeInteger(number)
        }
        buffer.put(UInt8(ascii: "}"))
    }

    /// `{"event":E,"data":` as the envelopes above start: what a handler's replies start with,
    /// made once per handler.
    @usableFromInline
    static func envelopePrefix(event: String) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 32 + event.utf8.count * 6)
        defer { buffer.free() }
        writeHead(event: event, field: "data", into: &buffer)
        return Array(buffer.bytes)
    }

    /// A handler's reply of a ``WsJSONCodable`` value: `prefix` is `envelopePrefix`
    /// of `event`; the value's own codec writes it, and its `Encodable` route when that throws.
    @inlinable
    static func withReply<T: WsJSONCodable>(
        event: String, prefix: [UInt8], codable value: T, ack: Int64?, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        do {
            try withEnvelope(prefix: prefix, codable: value, ack: ack, body)
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
            try withEnvelope(prefix: prefix, codable: value, ack: ack, to: client)
        } catch is WsJSONWriter.Unsupported {
            try withEnvelope(event: event, value: value, tail: ("ack", ack)) { client.send($0) }
        }
    }

    /// `{"event":<event>,"<field>":<json>[,"<tail>":<number>]}`, `json` already encoded (nil:
    /// no field at all, `{"event":E[,"ack":N]}`).
    static func envelope(event: String, field: StaticString = "data", json: [UInt8]?, tail: (String, Int64)? = nil) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 32 + event.utf8.count + (json?.count ?? 0))
        defer { buffer.free() }
        if let json {
            writeHead(event: event, field: field, into: &buffer)
            buffer.put(json)
        } else {
            buffer.put(#"{"event":"#)
            buffer.writeString(event)
        }
        writeTail(tail, into: &buffer)
        return Array(buffer.bytes)
    }

    /// `prefix` (see `envelopePrefix`), a ``WsJSONCodable`` value written by its own codec, and
    /// `,"ack":N}`: into stack memory while it fits (a reply allocates nothing). What the codec
    /// cannot write throws `Unsupported`, as the `Encodable` route does.
    /// (`body` returns nothing: with a generic result, the temporary allocation would look up
    /// its `Result` type's metadata on every call.)
    @inlinable
    static func withEnvelope<T: WsJSONCodable>(
        prefix: [UInt8], codable value: T, ack: Int64?, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { memory in
            var output = WsJSONOutput(JSONBuffer(in: memory))
            defer { output.buffer.free() }
            try writeEnvelope(prefix: prefix, codable: value, ack: ack, into: &output)
            try body(output.buffer.bytes)
        }
    }

    /// The same, sent to `client`, which is passed rather than captured by `body` (a capture
    /// would count a reference per message; see `WsJSON.reply`).
    @inlinable
    static func withEnvelope<T: WsJSONCodable>(prefix: [UInt8], codable value: T, ack: Int64, to client: WsClient) throws {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { memory in
            var output = WsJSONOutput(JSONBuffer(in: memory))
            defer { output.buffer.free() }
            try writeEnvelope(prefix: prefix, codable: value, ack: ack, into: &output)
            client.send(output.buffer.bytes)
        }
    }

    @inlinable @inline(__always)
    static func writeEnvelope<T: WsJSONCodable>(
        prefix: [UInt8], codable value: T, ack: Int64?, into output: inout WsJSONOutput
    ) throws {
        output.buffer.put(prefix)
        do {
            try value.encode(wsJSON: &output)
        } catch {
            throw WsJSONWriter.Unsupported()
        }
        if let ack {
            output.buffer.put(#","ack":"#)
            output.buffer.writeInteger(ack)
        }
        output.buffer.put(UInt8(ascii: "}"))
    }

}
