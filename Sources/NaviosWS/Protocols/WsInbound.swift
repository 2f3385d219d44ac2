/// What one text frame carries, as a wire protocol reads it for the runtime. The bytes are the
/// frame's, lent for as long as the runtime handles the message.
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
