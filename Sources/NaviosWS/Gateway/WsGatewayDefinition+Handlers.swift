#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `onMessage` family: a plain or a typed event, a sync or an async body, with or without a
/// result. A result becomes the acknowledgement of a message that carried an `id`; without an
/// `id` it is not sent. Payloads and results are read and written by the codec their types
/// choose (their own, ``WsJSONCodable``, else `Decodable`/`Encodable`); each handler is one
/// function specialised for its types where the gateway is defined, so that choice costs nothing
/// per message.
extension WsGatewayDefinition {
    // MARK: named events

    @inlinable
    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> Void
    ) -> Self {
        let validating = P.self is any WsValidatable.Type
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data, ack, attachments in
            try body(gateway, WsMessageParams(
                client: client, payload: try WsPayloadDecoding.decode(P.self, from: data, attachments: attachments, validating: validating),
                event: event))
            if let ack { client.sendAck(ack, event: event) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        let validating = P.self is any WsValidatable.Type
        let reply = WsReply<R>(event: event, namespace: namespace, protocols: protocols)
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data, ack, attachments in
            // The payload decoded straight into the parameters: a local would be a copy.
            let response = try body(gateway, WsMessageParams(
                client: client, payload: try WsPayloadDecoding.decode(P.self, from: data, attachments: attachments, validating: validating),
                event: event))
            if let ack { try reply.send(response, to: client, ack: ack) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> Void
    ) -> Self {
        let validating = P.self is any WsValidatable.Type
        return adding(.init(event: event, guards: guards, body: .async { gateway, client, data, ack, attachments in
            let payload = try data.withOptionalBytes {
                try WsPayloadDecoding.decode(P.self, from: $0, attachments: attachments, validating: validating)
            }
            try await body(gateway, WsMessageParams(client: client, payload: payload, event: event))
            if let ack { client.sendAck(ack, event: event) }
        }, payloadType: P.self))
    }

    @inlinable
    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> R
    ) -> Self {
        let validating = P.self is any WsValidatable.Type
        let reply = WsReply<R>(event: event, namespace: namespace, protocols: protocols)
        return adding(.init(event: event, guards: guards, body: .async { gateway, client, data, ack, attachments in
            let payload = try data.withOptionalBytes {
                try WsPayloadDecoding.decode(P.self, from: $0, attachments: attachments, validating: validating)
            }
            let response = try await body(gateway, WsMessageParams(client: client, payload: payload, event: event))
            if let ack { try reply.send(response, to: client, ack: ack) }
        }, payloadType: P.self))
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

/// How a handler's result becomes its acknowledgement, settled once per handler: the codec's
/// prefix for the event made once; a `WsNoResponse` result acknowledges as a handler without
/// one does.
@usableFromInline
struct WsReply<R: Encodable & Sendable>: Sendable {
    @usableFromInline let event: String
    /// Per protocol the gateway speaks (empty for one it does not).
    @usableFromInline let jsonPrefix: [UInt8]
    @usableFromInline let socketIOPrefix: [UInt8]

    @usableFromInline
    init(event: String, namespace: String, protocols: [WsWireProtocol]) {
        self.event = event
        func prefix(_ wire: WsWireProtocol) -> [UInt8] {
            protocols.contains(wire) ? wire.codec.ackPrefix(event: event, namespace: namespace) : []
        }
        jsonPrefix = prefix(.json)
        socketIOPrefix = prefix(.socketIO)
    }

    /// The result is borrowed, never copied or boxed.
    @inlinable
    func send(_ response: borrowing R, to client: WsClient, ack: Int64) throws {
        if R.self == WsNoResponse.self { return client.sendAck(ack, event: event) }
        try client.sendAck(ack, prefix: client.wire == .json ? jsonPrefix : socketIOPrefix, event: event, response)
    }
}

extension Optional where Wrapped == [UInt8] {
    @usableFromInline
    func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let bytes = self else { return try body(nil) }
        return try bytes.withUnsafeBytes { try body($0) }
    }
}
