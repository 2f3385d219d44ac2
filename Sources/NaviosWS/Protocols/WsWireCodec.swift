/// A wire protocol: how events travel in a connection's text frames. One type per protocol is
/// the only code that knows that protocol's keys and framing; the runtime dispatches what
/// `decode` reads and sends what the `write` functions make, whatever the protocol. Payloads
/// are JSON in every protocol: the runtime hands a writer of the payload's JSON, the codec puts
/// its framing around it in the same buffer.
///
/// Adding a protocol is adding one such type (and its transport details, in the core): the
/// runtime's dispatch does not change. Codecs are stateless, so the runtime holds a codec's
/// type (`any WsWireCodec.Type`), which costs no reference counting per message.
@usableFromInline
protocol WsWireCodec: Sendable {
    /// Whether bytes that came from elsewhere (another instance) are a whole message of this
    /// protocol, valid UTF-8: nothing reaches a client before it passes.
    static func isDeliverable(_ text: UnsafeRawBufferPointer) -> Bool

    // Each message with a payload is written as a head, the payload's JSON (written by the
    // caller, where the payload's type is known), and a tail. `namespace` is the client's (a
    // protocol that multiplexes namespaces on one connection names it in each message).

    /// An event the server sends, asking the client to acknowledge it when `id` is set; a
    /// broadcast kept for connection state recovery carries its `offset` (the client names the
    /// last one it got when it reconnects).
    static func writeEventHead(_ event: String, namespace: String, id: Int64?, into buffer: inout JSONBuffer)
    static func writeEventTail(id: Int64?, offset: String?, into buffer: inout JSONBuffer)
    /// An event without a payload.
    static func writeEvent(_ event: String, namespace: String, offset: String?, into buffer: inout JSONBuffer)
    /// What every acknowledgement of `event` with a payload is made from: made once per handler
    /// (a handler belongs to one gateway, so to one namespace).
    static func ackPrefix(event: String, namespace: String) -> [UInt8]
    /// A handler's acknowledgement of message `ack`, with its result; `prefix` is
    /// `ackPrefix(event:namespace:)` of the message's event.
    static func writeAckHead(_ ack: Int64, prefix: [UInt8], into buffer: inout JSONBuffer)
    static func writeAckTail(_ ack: Int64, into buffer: inout JSONBuffer)
    /// An acknowledgement without a result.
    static func writeAck(_ ack: Int64, event: String, namespace: String, into buffer: inout JSONBuffer)
    /// An error answering a message about `event` (`ack`: that message's id, if it had one).
    static func writeErrorHead(_ event: String, namespace: String, ack: Int64?, into buffer: inout JSONBuffer)
    static func writeErrorTail(ack: Int64?, into buffer: inout JSONBuffer)

    /// An event, or (`ack` set) the acknowledgement of message `ack` about `event`, carrying
    /// arguments as they came (``WsArguments``: a protocol with attachments counts them in the
    /// header; the caller sends them after it when ``carriesAttachments``).
    static func writeArguments(
        _ arguments: WsArguments, event: String, namespace: String, id: Int64?, ack: Int64?, offset: String?,
        into buffer: inout JSONBuffer
    )
    /// Whether binary attachments follow a message, as binary frames.
    static var carriesAttachments: Bool { get }
    /// A payload (an event's data, an ack's result) in this protocol's encoding, inside a
    /// message that `buffer` holds from its start: the JSON protocol writes `Data` as base64
    /// text; a protocol with attachments writes `Data` and `[UInt8]` as attachments, appended
    /// to `attachments` (the caller sends them after the message), and marks the message binary.
    static func writePayload<T: Encodable>(_ value: T, into buffer: inout JSONBuffer, attachments: inout [[UInt8]]) throws
}

/// A protocol whose every text frame is one message of one client: the runtime's dispatch reads
/// frames with it directly (a protocol that multiplexes clients on a connection has a reader of
/// its own in front, which routes each packet to its client: ``WsSocketIOConnection``).
@usableFromInline
protocol WsFrameDecoding: WsWireCodec {
    /// What one text frame carries; the bytes are the frame's, lent for the duration of the call
    /// and of whatever the runtime does with the result.
    static func decode(_ text: UnsafeRawBufferPointer) -> WsInbound
}

extension WsWireCodec {
    /// Head, payload, tail: for callers that have the payload as a writer.
    static func writeEvent(
        _ event: String, namespace: String, id: Int64?, offset: String? = nil, into buffer: inout JSONBuffer,
        payload: WsPayloadWriter
    ) throws {
        writeEventHead(event, namespace: namespace, id: id, into: &buffer)
        try payload(&buffer)
        writeEventTail(id: id, offset: offset, into: &buffer)
    }

    @usableFromInline
    static func writeAck(_ ack: Int64, prefix: [UInt8], into buffer: inout JSONBuffer, payload: WsPayloadWriter) throws {
        writeAckHead(ack, prefix: prefix, into: &buffer)
        try payload(&buffer)
        writeAckTail(ack, into: &buffer)
    }

    static func writeError(
        _ event: String, namespace: String, ack: Int64?, into buffer: inout JSONBuffer, error: WsPayloadWriter
    ) throws {
        writeErrorHead(event, namespace: namespace, ack: ack, into: &buffer)
        try error(&buffer)
        writeErrorTail(ack: ack, into: &buffer)
    }
}

/// Writes a payload's JSON at the end of a buffer (the codec writes what surrounds it).
@usableFromInline
typealias WsPayloadWriter = (inout JSONBuffer) throws -> Void

/// What one text frame carries, as a wire protocol reads it for the runtime. The bytes are the
/// frame's, lent for as long as the runtime handles the message.
@usableFromInline
enum WsInbound {
    /// An event for a handler: its name as sent (`nameEscaped`: it holds escapes to undo),
    /// its payload's JSON (nil when the message had none), and the id to acknowledge (nil: the
    /// client expects no reply).
    case event(name: UnsafeRawBufferPointer, nameEscaped: Bool, payload: UnsafeRawBufferPointer?, ack: Int64?)
    /// The client's answer to an event the server sent with an id (`emitWithAck`).
    case answer(id: Int64, payload: UnsafeRawBufferPointer?)
    /// Nothing the runtime can act on; the words tell the client why (a constant: the enum
    /// stays a plain value, copied without reference counting).
    case invalid(StaticString)
}

extension WsWireProtocol {
    /// The codec that speaks this protocol.
    @usableFromInline
    var codec: any WsWireCodec.Type {
        switch self {
        case .json: return WsJSONEnvelope.self
        case .socketIO: return WsSocketIOCodec.self
        }
    }
}
