/// What an application gives the engine: one method per event of a connection's life.
///
/// Every method is called on the loop thread that owns the connection, one at a time per
/// connection and in order. A message's bytes are lent for the duration of the call only
/// (copy what you keep); lending them costs no allocation. Work that blocks or takes long
/// belongs elsewhere: the loop serves every other connection it owns in the meantime.
public protocol WsEngineHandler: AnyObject, Sendable {
    /// Whether an upgrade to this path is served; false answers 404 before any upgrade.
    func shouldAccept(path: String) -> Bool
    /// The upgrade succeeded; the connection takes sends from now on.
    func onOpen(_ connection: borrowing WsConnection, request: WsUpgradeRequest)
    /// A whole text message: valid UTF-8, reassembled from its fragments.
    func onText(_ connection: borrowing WsConnection, _ text: UnsafeRawBufferPointer)
    /// A whole binary message, reassembled from its fragments.
    func onBinary(_ connection: borrowing WsConnection, _ data: UnsafeRawBufferPointer)
    /// The connection stopped taking sends: the peer's close code (1005 when its close frame
    /// had none), the code the server closed with, or 1006 when TCP ended without a close.
    /// It is still in its rooms during this call (``WsEngine/rooms(of:)``), in none after.
    func onClose(_ connection: borrowing WsConnection, code: WsCloseCode, reason: String)
    /// A room got its first member on this engine (`present`), or lost its last. Called on a
    /// loop thread after the change, in the order of the changes over all loops, with no lock
    /// held: it may call the engine.
    func onRoom(_ room: String, present: Bool)
    /// A graceful shutdown began draining (``WsEngineConfiguration/drainWindow``): the engine
    /// refuses new clients; open ones are served for up to `window`, the time to tell them when
    /// to reconnect elsewhere. Called once, on no loop thread.
    func engineDraining(window: Duration)
    /// The drain window is over (or no client is left): returns once work in flight for
    /// clients has finished, before they get 1001. The engine waits at most
    /// ``WsEngineConfiguration/shutdownDrain`` for it.
    func engineQuiesce() async
    /// A plain GET (no upgrade) that no health, ready or page path took: the answer, or nil to
    /// let the engine answer as it would (404 or 426). On a loop thread, which serves nothing
    /// else meanwhile: for quick answers (a metrics scrape, a small page).
    func httpRequest(_ request: WsUpgradeRequest) -> WsHTTPResponse?
}

extension WsEngineHandler {
    public func shouldAccept(path: String) -> Bool { true }
    public func onOpen(_ connection: borrowing WsConnection, request: WsUpgradeRequest) {}
    public func onText(_ connection: borrowing WsConnection, _ text: UnsafeRawBufferPointer) {}
    public func onBinary(_ connection: borrowing WsConnection, _ data: UnsafeRawBufferPointer) {}
    public func onClose(_ connection: borrowing WsConnection, code: WsCloseCode, reason: String) {}
    public func onRoom(_ room: String, present: Bool) {}
    public func engineDraining(window: Duration) {}
    public func engineQuiesce() async {}
    public func httpRequest(_ request: WsUpgradeRequest) -> WsHTTPResponse? { nil }
}

/// A handler that keeps an object with each connection (``WsEngine/setUserObject(_:for:)``)
/// and gets it back with each text message, unretained: the message path then needs no
/// lookup and no reference counting. The package's own (the gateway runtime): the object's
/// lifetime is the handler's to keep, which only it can.
package protocol WsUserObjectHandler: WsEngineHandler {
    func onText(_ id: WsConnectionID, _ text: UnsafeRawBufferPointer, userObject: UnsafeMutableRawPointer?)
}
