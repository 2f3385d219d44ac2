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
    func onOpen(_ connection: WsConnection, request: WsUpgradeRequest)
    /// A whole text message: valid UTF-8, reassembled from its fragments.
    func onText(_ connection: WsConnection, _ text: UnsafeRawBufferPointer)
    /// The same, with the object set for the connection (`WsEngine.setUserObject`), unretained,
    /// or nil: what the engine calls. By default, `onText(_:_:)`.
    func onText(_ connection: WsConnection, _ text: UnsafeRawBufferPointer, userObject: UnsafeMutableRawPointer?)
    /// A whole binary message, reassembled from its fragments.
    func onBinary(_ connection: WsConnection, _ data: UnsafeRawBufferPointer)
    /// The connection stopped taking sends: the peer's close code (1005 when its close frame
    /// had none), the code the server closed with, or 1006 when TCP ended without a close.
    func onClose(_ connection: WsConnection, code: WsCloseCode, reason: String)
}

extension WsEngineHandler {
    public func shouldAccept(path: String) -> Bool { true }
    public func onOpen(_ connection: WsConnection, request: WsUpgradeRequest) {}
    public func onText(_ connection: WsConnection, _ text: UnsafeRawBufferPointer) {}
    public func onText(_ connection: WsConnection, _ text: UnsafeRawBufferPointer, userObject: UnsafeMutableRawPointer?) {
        onText(connection, text)
    }
    public func onBinary(_ connection: WsConnection, _ data: UnsafeRawBufferPointer) {}
    public func onClose(_ connection: WsConnection, code: WsCloseCode, reason: String) {}
}
