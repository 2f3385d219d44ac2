/// A wire protocol: how events travel in a connection's text frames. One type per protocol is
/// the only code that knows that protocol's keys and framing; the runtime dispatches what
/// `decode` reads and sends what the `write` functions make, whatever the protocol. Payloads
/// are JSON in every protocol: the runtime hands a writer of the payload's JSON, the codec puts
/// its framing around it in the same buffer.
///
/// Adding a protocol is adding one such type (and its transport details, in the core): the
/// runtime's dispatch does not change.
@usableFromInline
protocol WsWireCodec: AnyObject, Sendable {
    /// What one text frame carries; the bytes are the frame's, lent for the duration of the call
    /// and of whatever the runtime does with the result.
    func decode(_ text: UnsafeRawBufferPointer) -> WsInbound
    /// Whether bytes that came from elsewhere (another instance) are a whole message of this
    /// protocol, valid UTF-8: nothing reaches a client before it passes.
    func isDeliverable(_ text: UnsafeRawBufferPointer) -> Bool
    /// An event the server sends, with a payload; asking the client to acknowledge it when `id`
    /// is set.
    func writeEvent(_ event: String, id: Int64?, into buffer: inout JSONBuffer, payload: WsPayloadWriter) throws
    /// An event without a payload.
    func writeEvent(_ event: String, into buffer: inout JSONBuffer)
    /// What every acknowledgement of `event` with a payload starts with: made once per handler.
    func ackPrefix(event: String) -> [UInt8]
    /// A handler's acknowledgement of message `ack`, with its result; `prefix` is
    /// `ackPrefix(event:)` of the message's event.
    func writeAck(_ ack: Int64, prefix: [UInt8], into buffer: inout JSONBuffer, payload: WsPayloadWriter) throws
    /// An acknowledgement without a result.
    func writeAck(_ ack: Int64, event: String, into buffer: inout JSONBuffer)
    /// An error answering a message about `event` (`ack`: that message's id, if it had one).
    func writeError(_ event: String, ack: Int64?, into buffer: inout JSONBuffer, error: WsPayloadWriter) throws
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
    /// Nothing the runtime can act on; the words tell the client why.
    case invalid(String)
}

extension WsWireProtocol {
    /// The codec that speaks this protocol (stateless: one serves every gateway).
    @usableFromInline
    var codec: any WsWireCodec {
        switch self {
        case .json: return WsJSONEnvelope.shared
        }
    }
}
