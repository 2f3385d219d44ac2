import NaviosJSON

/// The packets the server sends, written into a buffer as the protocol frames them:
///
///     2["hello",1]                      an event on the main namespace
///     2/admin,456["project:delete",123] an event on /admin that asks for an ack (456)
///     3/admin,456[]                     the ack of the client's 456, with no arguments
///     0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}          the CONNECT reply
///     4/admin,{"message":"Not authorized"}           a refused CONNECT
///     1/admin,                          the server disconnects the client from /admin
///
/// A payload is written by the caller between a head and a tail, where its type is known.
/// Compact JSON in key order, as the official server writes it (clients compare nothing, but
/// the protocol's suite compares whole frames).
extension SocketIOPacket {
    /// `<type>[<attachments>-][<namespace>,][<ack id>]`. The main namespace `/` is left out.
    static func writeHeader(
        _ kind: Kind, namespace: String, ackID: Int64? = nil, attachments: Int = 0, into buffer: inout JSONBuffer
    ) {
        buffer.put(UInt8(ascii: "0") + kind.rawValue)
        if kind == .binaryEvent || kind == .binaryAck {
            buffer.writeInteger(Int64(attachments))
            buffer.put(UInt8(ascii: "-"))
        }
        if namespace != "/" {
            buffer.put(Array(namespace.utf8))
            buffer.put(UInt8(ascii: ","))
        }
        if let ackID { buffer.writeInteger(ackID) }
    }

    /// Turns the EVENT or ACK packet that `buffer` holds from its start into its binary kind,
    /// announcing `attachments`: `2…` becomes `5N-…`, `3…` becomes `6N-…`.
    static func markBinary(attachments: Int, in buffer: inout JSONBuffer) {
        let packet = Array(buffer.bytes)
        guard let kind = packet.first, kind == UInt8(ascii: "2") || kind == UInt8(ascii: "3") else { return }
        buffer.truncate(to: 0)
        buffer.put(kind + 3)
        buffer.writeInteger(Int64(attachments))
        buffer.put(UInt8(ascii: "-"))
        buffer.put(Array(packet[1...]))
    }

    /// `2[/ns,][id]["event",` — the payload follows, then ``writeArgumentsTail``.
    static func writeEventHead(_ event: String, namespace: String, ackID: Int64?, into buffer: inout JSONBuffer) {
        writeHeader(.event, namespace: namespace, ackID: ackID, into: &buffer)
        buffer.put(UInt8(ascii: "["))
        buffer.writeString(event)
        buffer.put(UInt8(ascii: ","))
    }

    /// An event with no payload: `2[/ns,]["event"]`.
    static func writeEvent(_ event: String, namespace: String, into buffer: inout JSONBuffer) {
        writeHeader(.event, namespace: namespace, into: &buffer)
        buffer.put(UInt8(ascii: "["))
        buffer.writeString(event)
        buffer.put(UInt8(ascii: "]"))
    }

    /// `3[/ns,]id[` — the result follows, then ``writeArgumentsTail``.
    static func writeAckHead(_ ackID: Int64, namespace: String, into buffer: inout JSONBuffer) {
        writeHeader(.ack, namespace: namespace, ackID: ackID, into: &buffer)
        buffer.put(UInt8(ascii: "["))
    }

    /// An ack with no arguments: `3[/ns,]id[]`.
    static func writeAck(_ ackID: Int64, namespace: String, into buffer: inout JSONBuffer) {
        writeAckHead(ackID, namespace: namespace, into: &buffer)
        buffer.put(UInt8(ascii: "]"))
    }

    static func writeArgumentsTail(into buffer: inout JSONBuffer) {
        buffer.put(UInt8(ascii: "]"))
    }

    /// The CONNECT reply: `0[/ns,]{"sid":"..."}`, with the session's `pid` when connection
    /// state recovery is on: `{"sid":"...","pid":"..."}`.
    static func writeConnected(sid: String, pid: String? = nil, namespace: String, into buffer: inout JSONBuffer) {
        writeHeader(.connect, namespace: namespace, into: &buffer)
        buffer.put(#"{"sid":"#)
        buffer.writeString(sid)
        if let pid {
            buffer.put(#","pid":"#)
            buffer.writeString(pid)
        }
        buffer.put(UInt8(ascii: "}"))
    }

    /// A refused CONNECT: `4[/ns,]{"message":"..."}`.
    static func writeConnectError(_ message: String, namespace: String, into buffer: inout JSONBuffer) {
        writeHeader(.connectError, namespace: namespace, into: &buffer)
        buffer.put(#"{"message":"#)
        buffer.writeString(message)
        buffer.put(UInt8(ascii: "}"))
    }

    /// The same with `data`, written by the caller as JSON: `4[/ns,]{"message":"...","data":...}`.
    static func writeConnectError(
        _ message: String, namespace: String, into buffer: inout JSONBuffer, data: (inout JSONBuffer) throws -> Void
    ) rethrows {
        writeHeader(.connectError, namespace: namespace, into: &buffer)
        buffer.put(#"{"message":"#)
        buffer.writeString(message)
        buffer.put(#","data":"#)
        try data(&buffer)
        buffer.put(UInt8(ascii: "}"))
    }

    /// The server disconnects the client from a namespace: `1[/ns,]`.
    static func writeDisconnect(namespace: String, into buffer: inout JSONBuffer) {
        writeHeader(.disconnect, namespace: namespace, into: &buffer)
    }
}
