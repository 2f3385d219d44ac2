#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `onMessage` family: one per combination of plain/typed event, sync/async body, and
/// with/without a response. A response becomes the acknowledgement of a message that carried
/// an `id`; without an `id` it is not sent.
extension WsGatewayDefinition {
    // MARK: named events

    @inlinable
    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> Void
    ) -> Self {
        let decode = payloadDecoder(P.self)
        let acknowledge = acknowledger(event: event)
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data, ack in
            try body(gateway, WsMessageParams(client: client, payload: try decode(data), event: event))
            if let ack { acknowledge(client, ack) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        let decode = payloadDecoder(P.self)
        let reply = replier(R.self, event: event, codec: wireProtocol.codec)
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data, ack in
            let response = try body(gateway, WsMessageParams(client: client, payload: try decode(data), event: event))
            if let ack { try reply(response, client, ack) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> Void
    ) -> Self {
        let decode = payloadDecoder(P.self)
        let acknowledge = acknowledger(event: event)
        return adding(.init(event: event, guards: guards, body: .async { gateway, client, data, ack in
            let payload = try data.withOptionalBytes { try decode($0) }
            try await body(gateway, WsMessageParams(client: client, payload: payload, event: event))
            if let ack { acknowledge(client, ack) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> R
    ) -> Self {
        let decode = payloadDecoder(P.self)
        let reply = replier(R.self, event: event, codec: wireProtocol.codec)
        return adding(.init(event: event, guards: guards, body: .async { gateway, client, data, ack in
            let payload = try data.withOptionalBytes { try decode($0) }
            let response = try await body(gateway, WsMessageParams(client: client, payload: payload, event: event))
            if let ack { try reply(response, client, ack) }
        }, payloadType: P.self))
    }

    // MARK: payloads and results with codecs of their own

    /// A payload and a result that both have codecs of their own (`@WsJSONCodable`): chosen
    /// over the general overload, so that decoding the payload, running the handler and
    /// writing the reply are one function, specialised for the two types where the gateway is
    /// defined. The same behaviour, errors included, as the general overload.
    @inlinable
    public func onMessage<P: WsJSONCodable & Sendable, R: WsJSONCodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        let validating = P.self is any WsValidatable.Type
        let prefix = wireProtocol.codec.ackPrefix(event: event)
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data, ack in
            // The payload decoded straight into the parameters: a local would be a copy.
            let response = try body(gateway, WsMessageParams(
                client: client, payload: try WsPayloadDecoding.decodeCodable(P.self, from: data, validating: validating),
                event: event))
            if let ack { try client.sendAck(ack, prefix: prefix, codable: response) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: WsJSONCodable & Sendable, R: WsJSONCodable & Sendable>(
        _ event: WsEvent<P, R>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    // MARK: typed events

    @inlinable
    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: WsEvent<P, R>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: WsEvent<P, R>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> R
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    /// A typed event declared without a response: the handler returns nothing.
    @inlinable
    public func onMessage<P: Decodable & Sendable>(
        _ event: WsEvent<P, WsNoResponse>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> Void
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable>(
        _ event: WsEvent<P, WsNoResponse>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> Void
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }
}

/// The payload decoder of one handler. Payload spans come from the envelope scan, which only
/// delimits an object or array payload: it is validated here (the codec of a type that has one
/// validates as it reads); whether `P` has a schema is settled here, once, not per message.
@usableFromInline
func payloadDecoder<P: Decodable>(_ type: P.Type) -> @Sendable (UnsafeRawBufferPointer?) throws -> P {
    let validating = P.self is any WsValidatable.Type
    if let codable = P.self as? any WsJSONCodable.Type {
        return codableDecoder(codable, as: P.self, validating: validating)
    }
    return { data in try WsPayloadDecoding.decodeDelimited(P.self, from: data, validating: validating) }
}

/// `C` is `P`, known to be ``WsJSONCodable``: the cast of the function type always succeeds.
private func codableDecoder<C: WsJSONCodable, P>(
    _ type: C.Type, as payload: P.Type, validating: Bool
) -> @Sendable (UnsafeRawBufferPointer?) throws -> P {
    let decode: @Sendable (UnsafeRawBufferPointer?) throws -> C = { data in
        try WsPayloadDecoding.decodeCodable(C.self, from: data, validating: validating)
    }
    return decode as! @Sendable (UnsafeRawBufferPointer?) throws -> P
}

/// How a handler without a result acknowledges a message that carried an `id`.
@usableFromInline
func acknowledger(event: String) -> @Sendable (WsClient, Int64) -> Void {
    { client, ack in client.sendAck(ack, event: event) }
}

/// How a handler's result becomes its acknowledgement, settled once per handler: the codec's
/// prefix for the event made once, and the result written by the type's own codec when it has
/// one, else through `Encodable`. The result is borrowed, never copied or boxed.
@usableFromInline
func replier<R: Encodable & Sendable>(
    _ type: R.Type, event: String, codec: any WsWireCodec.Type
) -> @Sendable (R, WsClient, Int64) throws -> Void {
    if R.self == WsNoResponse.self {
        let acknowledge = acknowledger(event: event)
        return { _, client, ack in acknowledge(client, ack) }
    }
    let prefix = codec.ackPrefix(event: event)
    if let codable = R.self as? any WsJSONCodable.Type { return codableReplier(codable, as: R.self, prefix: prefix) }
    return { value, client, ack in try client.sendAck(ack, prefix: prefix, value) }
}

/// `C` is `R`, known to be ``WsJSONCodable``: the cast of the function type always succeeds.
private func codableReplier<C: WsJSONCodable, R>(
    _ type: C.Type, as response: R.Type, prefix: [UInt8]
) -> @Sendable (R, WsClient, Int64) throws -> Void {
    let reply: @Sendable (C, WsClient, Int64) throws -> Void = { value, client, ack in
        try client.sendAck(ack, prefix: prefix, codable: value)
    }
    return reply as! @Sendable (R, WsClient, Int64) throws -> Void
}

extension Optional where Wrapped == [UInt8] {
    @usableFromInline
    func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let bytes = self else { return try body(nil) }
        return try bytes.withUnsafeBytes { try body($0) }
    }
}
