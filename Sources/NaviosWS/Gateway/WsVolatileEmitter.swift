/// `client.volatile`: emits to one client that its backpressure may drop (``WsClient/volatile``).
public struct WsVolatileEmitter: Sendable {
    let client: WsClient

    /// Sends one event unless the client's queue is over its limit: `.dropped` then.
    @discardableResult
    public func emit<T: Encodable & Sendable>(_ event: String, _ data: T) -> WsSendResult {
        client.emit(event, data, droppable: true)
    }

    /// Sends one event without data unless the client's queue is over its limit.
    @discardableResult
    public func emit(_ event: String) -> WsSendResult {
        client.emit(event, droppable: true)
    }
}
