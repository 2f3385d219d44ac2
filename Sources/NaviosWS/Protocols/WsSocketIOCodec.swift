import NaviosJSON
import NaviosWSCore

/// Socket.IO v5 as a wire protocol: what the server writes to a Socket.IO client, in the packets
/// of ``SocketIOPacket`` (the core puts each in an Engine.IO message). A payload is one event
/// argument; an acknowledgement carries the handler's result as its one argument.
///
/// Errors (a handler's ``WsException``, a payload that fails validation, a refusal by a guard or
/// the rate limit) go where a Socket.IO client can see them:
///
///     3/chat,7[{"error":{"code":"validation_failed",...}}]     the message asked for an ack: its ack
///     2/chat,["exception",{"event":"chat:message","error":{...}}]   it did not: an `exception` event
///
/// (`exception` is the event NestJS's Socket.IO gateways report errors with.) Reading is
/// ``WsSocketIOConnection``'s: it routes each packet to the client of its namespace.
@usableFromInline
enum WsSocketIOCodec: WsWireCodec {
    /// The event that carries an error answering a message that asked for no ack.
    static let exceptionEvent = "exception"

    /// Valid UTF-8 and one EVENT packet (what a broadcast from another instance is).
    @usableFromInline
    static func isDeliverable(_ text: UnsafeRawBufferPointer) -> Bool {
        guard WsUTF8.isValid(text), let packet = try? SocketIOPacket.parse(text) else { return false }
        return packet.kind == .event
    }

    @usableFromInline
    static func writeEventHead(_ event: String, namespace: String, id: Int64?, into buffer: inout JSONBuffer) {
        SocketIOPacket.writeEventHead(event, namespace: namespace, ackID: id, into: &buffer)
    }

    @usableFromInline
    static func writeEventTail(id: Int64?, offset: String?, into buffer: inout JSONBuffer) {
        writeOffset(offset, into: &buffer)
        SocketIOPacket.writeArgumentsTail(into: &buffer)
    }

    /// A broadcast kept for recovery carries its offset as its last argument, as Socket.IO's
    /// do: the client keeps the last it saw and names it when it reconnects.
    private static func writeOffset(_ offset: String?, into buffer: inout JSONBuffer) {
        guard let offset else { return }
        buffer.put(UInt8(ascii: ","))
        buffer.writeString(offset)
    }

    @usableFromInline
    static func writeEvent(_ event: String, namespace: String, offset: String?, into buffer: inout JSONBuffer) {
        guard let offset else { return SocketIOPacket.writeEvent(event, namespace: namespace, into: &buffer) }
        SocketIOPacket.writeHeader(.event, namespace: namespace, into: &buffer)
        buffer.put(UInt8(ascii: "["))
        buffer.writeString(event)
        writeEventTail(id: nil, offset: offset, into: &buffer)
    }

    /// `3[/ns,]`: the ack id, `[`, the result and `]` follow.
    @usableFromInline
    static func ackPrefix(event: String, namespace: String) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 16 + namespace.utf8.count)
        defer { buffer.free() }
        SocketIOPacket.writeHeader(.ack, namespace: namespace, into: &buffer)
        return Array(buffer.bytes)
    }

    @usableFromInline
    static func writeAckHead(_ ack: Int64, prefix: [UInt8], into buffer: inout JSONBuffer) {
        buffer.put(prefix)
        buffer.writeInteger(ack)
        buffer.put(UInt8(ascii: "["))
    }

    @usableFromInline
    static func writeAckTail(_ ack: Int64, into buffer: inout JSONBuffer) {
        SocketIOPacket.writeArgumentsTail(into: &buffer)
    }

    @usableFromInline
    static func writeAck(_ ack: Int64, event: String, namespace: String, into buffer: inout JSONBuffer) {
        SocketIOPacket.writeAck(ack, namespace: namespace, into: &buffer)
    }

    @usableFromInline
    static func writeErrorHead(_ event: String, namespace: String, ack: Int64?, into buffer: inout JSONBuffer) {
        if let ack {
            SocketIOPacket.writeAckHead(ack, namespace: namespace, into: &buffer)
            buffer.put(#"{"error":"#)
            return
        }
        SocketIOPacket.writeEventHead(exceptionEvent, namespace: namespace, ackID: nil, into: &buffer)
        buffer.put(#"{"event":"#)
        buffer.writeString(event)
        buffer.put(#","error":"#)
    }

    /// `2[/ns,][id]["event",args...]`, or `3[/ns,]ack[args...]`; with attachments, the binary
    /// kinds `5N-`/`6N-` that announce them.
    @usableFromInline
    static func writeArguments(
        _ arguments: WsArguments, event: String, namespace: String, id: Int64?, ack: Int64?, offset: String?,
        into buffer: inout JSONBuffer
    ) {
        let binary = !arguments.attachments.isEmpty
        if let ack {
            SocketIOPacket.writeHeader(binary ? .binaryAck : .ack, namespace: namespace, ackID: ack,
                                       attachments: arguments.attachments.count, into: &buffer)
            buffer.put(UInt8(ascii: "["))
        } else {
            SocketIOPacket.writeHeader(binary ? .binaryEvent : .event, namespace: namespace, ackID: id,
                                       attachments: arguments.attachments.count, into: &buffer)
            buffer.put(UInt8(ascii: "["))
            buffer.writeString(event)
            if arguments.count > 0 { buffer.put(UInt8(ascii: ",")) }
        }
        arguments.writeSpread(into: &buffer)
        writeEventTail(id: nil, offset: ack == nil ? offset : nil, into: &buffer)
    }

    @usableFromInline
    static var carriesAttachments: Bool { true }

    /// `Data` and `[UInt8]` anywhere in `value` become attachments, as socket.io-client sends
    /// an `ArrayBuffer`; the packet, an EVENT or ACK, becomes a BINARY_EVENT or BINARY_ACK.
    @usableFromInline
    static func writePayload<T: Encodable>(_ value: T, into buffer: inout JSONBuffer, attachments: inout [[UInt8]]) throws {
        let before = attachments.count
        try JSONEncoding.write(value, into: &buffer, attachments: &attachments)
        if attachments.count > before { SocketIOPacket.markBinary(attachments: attachments.count, in: &buffer) }
    }

    @usableFromInline
    static func writeErrorTail(ack: Int64?, into buffer: inout JSONBuffer) {
        buffer.put(UInt8(ascii: "}"))
        SocketIOPacket.writeArgumentsTail(into: &buffer)
    }
}
