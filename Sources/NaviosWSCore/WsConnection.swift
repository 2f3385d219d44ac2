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

    private func send(_ opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer, _ droppable: Bool) throws(WsCoreError) {
        try WsCoreError.check(server._withUnsafeGuaranteedRef { $0.send(id, opcode, bytes, droppable) })
    }

    /// Sends a text message; the bytes must be valid UTF-8.
    public func send(text: UnsafeRawBufferPointer, droppable: Bool = false) throws(WsCoreError) {
        try send(.text, text, droppable)
    }

    public func send(text: String, droppable: Bool = false) throws(WsCoreError) {
        var text = text
        let rc = text.withUTF8 { bytes in server._withUnsafeGuaranteedRef { $0.send(id, .text, UnsafeRawBufferPointer(bytes), droppable) } }
        try WsCoreError.check(rc)
    }

    public func send(binary: UnsafeRawBufferPointer, droppable: Bool = false) throws(WsCoreError) {
        try send(.binary, binary, droppable)
    }

    public func send(binary: [UInt8], droppable: Bool = false) throws(WsCoreError) {
        let rc = binary.withUnsafeBytes { bytes in server._withUnsafeGuaranteedRef { $0.send(id, .binary, bytes, droppable) } }
        try WsCoreError.check(rc)
    }

    /// Starts the close handshake (RFC 6455 §7.1.2).
    public func close(code: WsCloseCode = .normalClosure, reason: String = "") throws(WsCoreError) {
        try WsCoreError.check(server._withUnsafeGuaranteedRef { $0.close(id, code, reason) })
    }
}

/// The frame types an application may send.
public enum WsOpcode: Int32, Sendable {
    case text = 1
    case binary = 2
    case ping = 9
    case pong = 10
}
