/// What `WsClusterAdapter` needs from a publish/subscribe service (Redis pub/sub, say):
/// channels named by strings, messages as bytes, at most once.
public protocol WsPubSubTransport: AnyObject, Sendable {
    /// Starts connecting in the background (never waits for the service). `receive` gets
    /// every message of a subscribed channel, on one thread at a time, the bytes lent for the
    /// call; `linkChanged` gets true when the service is reachable with every subscription in
    /// place, false and the reason when it is lost (or cannot be reached).
    func start(
        receive: @escaping @Sendable (_ channel: String, _ message: UnsafeRawBufferPointer) -> Void,
        linkChanged: @escaping @Sendable (_ up: Bool, _ reason: String?) -> Void)
    /// Stops; no callback runs after this returns.
    func stop() async
    func subscribe(_ channel: String)
    func unsubscribe(_ channel: String)
    /// Whether the message was handed to the service (false: dropped, the link is down).
    @discardableResult
    func publish(_ channel: String, _ message: [UInt8]) -> Bool
    /// How many subscribers `channel` has across the service, or nil when it cannot tell.
    func subscriberCount(_ channel: String) async -> Int?
}
