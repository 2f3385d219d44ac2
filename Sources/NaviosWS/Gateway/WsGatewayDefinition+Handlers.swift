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
        adding(.init(event: event, guards: guards, body: .sync { gateway, client, data in
            try body(gateway, WsMessageParams(client: client, payload: try decode(P.self, data), event: event))
            return .none
        }, payloadType: P.self))
    }

    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) throws -> R
    ) -> Self {
        adding(.init(event: event, guards: guards, body: .sync { gateway, client, data in
            let response = try body(gateway, WsMessageParams(client: client, payload: try decode(P.self, data), event: event))
            return try encodeReply(response)
        }, payloadType: P.self))
    }

    public func onMessage<P: Decodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> Void
    ) -> Self {
        adding(.init(event: event, guards: guards, body: .async { gateway, client, data in
            let payload = try data.withOptionalBytes { try decode(P.self, $0) }
            try await body(gateway, WsMessageParams(client: client, payload: payload, event: event))
            return .none
        }, payloadType: P.self))
    }

    public func onMessage<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ event: String, _ payload: P.Type, guards: [any WsGuard.Type] = [],
        _ body: @escaping @Sendable (G, WsMessageParams<P>) async throws -> R
    ) -> Self {
        adding(.init(event: event, guards: guards, body: .async { gateway, client, data in
            let payload = try data.withOptionalBytes { try decode(P.self, $0) }
            return try encodeReply(try await body(gateway, WsMessageParams(client: client, payload: payload, event: event)))
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

private func decode<P: Decodable>(_ type: P.Type, _ data: UnsafeRawBufferPointer?) throws -> P {
    try WsPayloadDecoding.decode(P.self, from: data)
}

private func encodeReply<R: Encodable>(_ response: R) throws -> WsReply {
    if R.self == WsNoResponse.self { return .none }
    return .json(try WsJSON.encode(response))
}

extension Optional where Wrapped == [UInt8] {
    func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let bytes = self else { return try body(nil) }
        return try bytes.withUnsafeBytes { try body($0) }
    }
}
