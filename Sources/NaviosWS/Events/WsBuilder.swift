/// Declares typed events, as the spec's `wsBuilder()` does with zod schemas: here the schema is a
/// `Decodable` payload type (with constraints when it conforms to `WsValidatable`) and an
/// `Encodable` response type.
///
///     let WS = wsBuilder()
///     let chatMessage = WS.declareWsEvent(
///         event: "chat:message", payload: ChatMessage.self, response: ChatMessageResponse.self)
///     let chatTyping = WS.declareWsEvent(event: "chat:typing", payload: RoomRef.self)
public struct WsBuilder: Sendable {
    init() {}

    /// An event whose handler returns a `R`, sent back as the ack.
    public func declareWsEvent<P: Decodable & Sendable, R: Encodable & Sendable>(
        event: String, payload: P.Type, response: R.Type
    ) -> WsEvent<P, R> {
        // An empty name can never be matched against an envelope: a typo, caught where it is made.
        precondition(!event.isEmpty, "declareWsEvent: the event name must not be empty")
        return WsEvent(name: event)
    }

    /// An event whose handler answers nothing (the spec's declaration without `responseSchema`).
    public func declareWsEvent<P: Decodable & Sendable>(
        event: String, payload: P.Type
    ) -> WsEvent<P, WsNoResponse> {
        declareWsEvent(event: event, payload: payload, response: WsNoResponse.self)
    }
}

/// The builder that declares typed events (the spec's `wsBuilder()`).
public func wsBuilder() -> WsBuilder {
    WsBuilder()
}
