/// What a client is sent, written by the wire protocol its gateway speaks: the runtime names
/// the message (an event, an acknowledgement, an error) and its payload; the codec frames it.
extension WsClient {
    /// Writes one message with the client's protocol into stack memory (the heap only past 512
    /// bytes) and sends it. (`write` returns nothing: with a generic result, the temporary
    /// allocation would look up its `Result` type's metadata on every call.)
    @usableFromInline @discardableResult
    func send(droppable: Bool = false, _ write: (any WsWireCodec.Type, inout JSONBuffer) throws -> Void) rethrows
        -> WsSendResult
    {
        var result = WsSendResult.closed
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { memory in
            var buffer = JSONBuffer(in: memory)
            defer { buffer.free() }
            try write(codec, &buffer)
            result = send(buffer.bytes, droppable: droppable)
        }
        return result
    }

    /// An error answering a message about `event`: a ``WsException``, a ``WsPayloadError``.
    func sendError(_ event: String, ack: Int64?, _ error: some Encodable) {
        runtime.metrics?.errorSent(code: (error as? WsException)?.code ?? .invalidPayload)
        do {
            try send { codec, buffer in
                try codec.writeError(event, namespace: namespace, ack: ack, into: &buffer) {
                    try JSONEncoding.write(error, into: &$0)
                }
            }
        } catch {
            runtime.logger.error("error reply dropped: it does not encode", metadata: ["event": "\(event)", "error": "\(error)"])
        }
    }

    /// The acknowledgement of a handler that returns nothing.
    @usableFromInline
    func sendAck(_ ack: Int64, event: String) {
        send { codec, buffer in codec.writeAck(ack, event: event, namespace: namespace, into: &buffer) }
    }

    /// The acknowledgement carrying a handler's result; `prefix` is the codec's `ackPrefix` of
    /// the event, made once per handler. The result's own codec writes it when its type has one
    /// (``WsJSONCodable``), else `Encodable`: chosen by the type, and where `T` is known (a
    /// handler specialised where the gateway is defined) the check folds away.
    @inlinable
    func sendAck<T: Encodable>(_ ack: Int64, prefix: [UInt8], event: String, _ value: T) throws {
        if let arguments = WsArguments.from(value) { return sendAck(ack, event: event, arguments: arguments) }
        if let codable = T.self as? any WsJSONCodable.Type {
            return try codable.sendAck(ack, prefix: prefix, result: value, to: self)
        }
        try sendEncodedAck(ack, prefix: prefix, value)
    }

    /// A result that is arguments as they came (``WsArguments``).
    @usableFromInline
    func sendAck(_ ack: Int64, event: String, arguments: WsArguments) {
        send { codec, buffer in
            codec.writeArguments(arguments, event: event, namespace: namespace, id: nil, ack: ack, offset: nil, into: &buffer)
        }
        sendAttachments(arguments.attachments)
    }

    /// The result written through `Encodable`.
    @usableFromInline
    func sendEncodedAck<T: Encodable>(_ ack: Int64, prefix: [UInt8], _ value: T) throws {
        var attachments: [[UInt8]] = []
        try send { codec, buffer in
            try codec.writeAck(ack, prefix: prefix, into: &buffer) { try codec.writePayload(value, into: &$0, attachments: &attachments) }
        }
        sendAttachments(attachments)
    }

    /// The result written by its own codec between the wire codec's head and tail, in one
    /// function specialised for its type; what the codec cannot write takes the `Encodable`
    /// route, as everywhere else.
    @inlinable
    func sendCodableAck<T: WsJSONCodable>(_ ack: Int64, prefix: [UInt8], _ value: T) throws {
        let codec = self.codec
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { memory in
            var output = WsJSONOutput(JSONBuffer(in: memory))
            defer { output.buffer.free() }
            codec.writeAckHead(ack, prefix: prefix, into: &output.buffer)
            do {
                try value.encode(wsJSON: &output)
            } catch {
                return try sendEncodedAck(ack, prefix: prefix, value)   // what the codec cannot write
            }
            codec.writeAckTail(ack, into: &output.buffer)
            send(output.buffer.bytes)
        }
    }
}

extension WsJSONCodable {
    /// `T` is `Self` (the caller checked): the cast folds away where both are known.
    @inlinable
    static func sendAck<T>(_ ack: Int64, prefix: [UInt8], result value: T, to client: WsClient) throws {
        try client.sendCodableAck(ack, prefix: prefix, value as! Self)
    }
}
