/// What a message handler receives: the client, the decoded (and validated) payload, and the
/// event it came as.
public struct WsMessageParams<Payload: Sendable>: Sendable {
    public let client: WsClient
    public let payload: Payload
    public let event: String

    @usableFromInline
    init(client: WsClient, payload: Payload, event: String) {
        self.client = client
        self.payload = payload
        self.event = event
    }
}
