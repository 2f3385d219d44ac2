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

    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> Void
    ) -> Self {
        let decode = payloadDecoder(P.self)
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data in
            try body(gateway, WsMessageParams(client: client, payload: try decode(data), event: event))
            return .none
        }, payloadType: P.self))
    }

    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        let decode = payloadDecoder(P.self)
        return adding(.init(event: event, guards: guards, body: .sync { gateway, client, data in
            reply(try body(gateway, WsMessageParams(client: client, payload: try decode(data), event: event)))
        }, payloadType: P.self))
    }

    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> Void
    ) -> Self {
        let decode = payloadDecoder(P.self)
        return adding(.init(event: event, guards: guards, body: .async { gateway, client, data in
            let payload = try data.withOptionalBytes { try decode($0) }
            try await body(gateway, WsMessageParams(client: client, payload: payload, event: event))
            return .none
        }, payloadType: P.self))
    }

    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> R
    ) -> Self {
        let decode = payloadDecoder(P.self)
        return adding(.init(event: event, guards: guards, body: .async { gateway, client, data in
            let payload = try data.withOptionalBytes { try decode($0) }
            return reply(try await body(gateway, WsMessageParams(client: client, payload: payload, event: event)))
        }, payloadType: P.self))
    }

    // MARK: typed events

    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: WsEvent<P, R>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: WsEvent<P, R>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> R
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    /// A typed event declared without a response: the handler returns nothing.
    public func onMessage<P: Decodable & Sendable>(
        _ event: WsEvent<P, WsNoResponse>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> Void
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }

    public func onMessage<P: Decodable & Sendable>(
        _ event: WsEvent<P, WsNoResponse>, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> Void
    ) -> Self {
        onMessage(event.name, P.self, guards: guards, body)
    }
}

/// The payload decoder of one handler. Payload spans come from the C core's envelope scan,
/// so they are valid JSON; whether `P` has a schema is settled here, once, not per message.
private func payloadDecoder<P: Decodable>(_ type: P.Type) -> @Sendable (UnsafeRawBufferPointer?) throws -> P {
    let validating = P.self is any WsValidatable.Type
    return { data in try WsPayloadDecoding.decode(P.self, from: data, validated: true, validating: validating) }
}

private func reply<R: Encodable & Sendable>(_ response: R) -> WsReply {
    R.self == WsNoResponse.self ? .none : .value(response)
}

extension Optional where Wrapped == [UInt8] {
    func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let bytes = self else { return try body(nil) }
        return try bytes.withUnsafeBytes { try body($0) }
    }
}
