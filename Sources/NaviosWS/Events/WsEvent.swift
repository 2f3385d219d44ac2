/// A declared event: its wire name, the type its payload decodes to and the type a handler
/// answers with (`WsNoResponse` when it answers nothing).
///
/// The types live only in the generic parameters, so a gateway handler registered for an event
/// is checked by the compiler against both, as `z.infer` does for the spec's schemas.
/// Made only by `WsBuilder.declareWsEvent`, so there is one place that names events.
public struct WsEvent<Payload: Decodable & Sendable, Response: Encodable & Sendable>: Sendable {
    /// The `event` member of the envelope, such as `chat:message`.
    public let name: String

    init(name: String) {
        self.name = name
    }
}
