internal import CNaviosWS

/// A connection as a handler of a ``WsEngine`` is lent it: its id, and the means to answer it.
///
/// Borrowed only: a handler receives it `borrowing` and can neither copy nor keep it, so it
/// never outlives the call that lends it. To reach the connection later, keep its ``id`` and
/// use ``WsEngine/send(to:opcode:_:droppable:)`` or ``WsEngine/close(_:code:reason:)``: a
/// closed connection's id is refused safely (``WsCoreError/stale``).
public struct WsConnection: ~Copyable {
    public let id: WsConnectionID
    // Not counted (a retain and release per message cost a tenth of the echo path): sound,
    // as the value cannot outlive the callback, and the engine outlives its callbacks.
    private let server: Unmanaged<WsCoreServer>

    init(id: WsConnectionID, server: Unmanaged<WsCoreServer>) {
        self.id = id
        self.server = server
    }

    /// The C server, borrowed for one call (see `server`).
    private func withCore(_ body: (WsCoreServer) -> Int32) throws(WsCoreError) {
        try WsCoreError.check(server._withUnsafeGuaranteedRef(body))
    }

    /// Sends a text message; the bytes must be valid UTF-8.
    public func send(text: UnsafeRawBufferPointer, droppable: Bool = false) throws(WsCoreError) {
        try withCore { $0.send(id, .text, text, droppable) }
    }

    public func send(text: String, droppable: Bool = false) throws(WsCoreError) {
        var text = text
        try withCore { core in text.withUTF8 { core.send(id, .text, UnsafeRawBufferPointer($0), droppable) } }
    }

    public func send(binary: UnsafeRawBufferPointer, droppable: Bool = false) throws(WsCoreError) {
        try withCore { $0.send(id, .binary, binary, droppable) }
    }

    public func send(binary: [UInt8], droppable: Bool = false) throws(WsCoreError) {
        try withCore { core in binary.withUnsafeBytes { core.send(id, .binary, $0, droppable) } }
    }

    /// Starts the close handshake (RFC 6455 §7.1.2).
    public func close(code: WsCloseCode = .normalClosure, reason: String = "") throws(WsCoreError) {
        try withCore { $0.close(id, code, reason) }
    }
}

/// The frame types an application may send.
public enum WsOpcode: Int32, Sendable {
    case text = 1
    case binary = 2
    case ping = 9
    case pong = 10
}
