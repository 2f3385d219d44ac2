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

/// A gateway-level guard whose admission lasts as long as the client's credentials (a token's
/// expiry), with in-band refresh: no reconnection when a token is renewed.
///
/// - After ``canActivate(_:)`` admits the client, ``sessionLifetime(_:)`` says for how long.
/// - When it runs out, the client is sent `session_expiring` with
///   `{"reason":"credentials expired","graceMs":G}` (``WsConfig/sessionGrace``).
/// - Any time until the grace period ends, the client may send `session_refresh` with new
///   credentials as its payload (with an `id`, to hear the outcome). ``refresh(_:)`` sees them
///   as `context.payload`. Accepted: the session gets the new lifetime, and the ack carries
///   `{"expiresInMs":N}`. Refused (nil or an error): the error `unauthorized` answers it, and
///   the session keeps its old end.
/// - At the end of the grace period without an accepted refresh, the connection is closed
///   with 1008 "session expired".
/// With several such guards on a gateway, the shortest lifetime counts, and a refresh must be
/// accepted by all of them.
public protocol WsSessionGuard: WsGuard {
    /// How long the credentials the client connected with stay valid; nil = no end.
    func sessionLifetime(_ context: WsExecutionContext) async throws -> Duration?
    /// The new credentials' lifetime, or nil to refuse them.
    func refresh(_ context: WsExecutionContext) async throws -> Duration?
}
