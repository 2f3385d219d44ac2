import NaviosDI

/// Decides whether a client may go on. Guards are injectable, so they can `inject(...)` the
/// services they need.
///
/// - At gateway level (`WsGatewayDefinition.guarded(by:)`) a guard runs once, when the client
///   connects, before `onConnection`. A refusal (false or a thrown error) closes the
///   connection with 1008 "unauthorized": no handler of the gateway ever sees the client.
///   The upgrade itself has already succeeded by then, as with Socket.IO's connect errors: a
///   browser learns the reason from the close frame, which it cannot from an HTTP 401.
/// - At handler level (`onMessage(..., guards:)`) it runs for each message; a refusal answers
///   that message with an error (`{"code":"forbidden"}`, as the ack when the message had an id)
///   and the connection stays open.
public protocol WsGuard: Injectable {
    func canActivate(_ context: WsExecutionContext) async throws -> Bool
}

/// What a guard can look at.
public struct WsExecutionContext: Sendable {
    public let client: WsClient
    /// The event being handled; nil at connect.
    public let event: String?
    /// The message's payload as raw JSON; nil at connect or when the message had none.
    public let payload: WsJSONValue?
    /// The gateway type and, for a message, the handler's event.
    public let gateway: any WsGateway.Type

    public func getClient() -> WsClient { client }
}
