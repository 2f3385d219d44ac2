internal import CNaviosWS

/// A connection of a ``WsEngine``: its id plus the engine, so it can be answered directly.
///
/// A value type holding no buffer: cheap to pass to handlers and to keep. Sends are safe from
/// any thread; on the owning loop thread they are queued at once (and leave with the next
/// batch of writes), elsewhere they are handed to that loop. A connection that closed is
/// refused safely (its id is stale); the engine itself must outlive the values naming its
/// connections, as it does whenever they come from its handlers while it runs.
public struct WsConnection: Sendable, Hashable {
    public let id: WsConnectionID
    // Not counted: a retain and release per message were a tenth of the echo path's time.
    unowned(unsafe) let engine: WsEngine
    /// The engine's C server, for the calls of the message path: reaching it through `engine`
    /// would count a reference (two atomic operations) per call.
    nonisolated(unsafe) let server: OpaquePointer

    init(id: WsConnectionID, engine: WsEngine) {
        self.id = id
        self.engine = engine
        self.server = engine.server
    }

    /// Queues a message of this connection (see `WsEngine.send`): 0 or an `NWS_E*` code.
    @inline(__always)
    package func rawSend(_ opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer, _ droppable: Bool) -> Int32 {
        nws_send(server, id.rawValue, opcode.rawValue, bytes.baseAddress, bytes.count,
                 droppable ? UInt32(NWS_SEND_DROPPABLE.rawValue) : 0)
    }

    public static func == (a: WsConnection, b: WsConnection) -> Bool { a.id == b.id && a.server == b.server }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// Sends a text message; the bytes must be valid UTF-8.
    public func send(text: UnsafeRawBufferPointer, droppable: Bool = false) throws(WsCoreError) {
        try engine.send(to: id, opcode: .text, text, droppable: droppable)
    }

    public func send(text: String, droppable: Bool = false) throws(WsCoreError) {
        var text = text
        let rc = text.withUTF8 { rawSend(.text, UnsafeRawBufferPointer($0), droppable) }
        try WsCoreError.check(rc)
    }

    public func send(binary: UnsafeRawBufferPointer, droppable: Bool = false) throws(WsCoreError) {
        try engine.send(to: id, opcode: .binary, binary, droppable: droppable)
    }

    public func send(binary: [UInt8], droppable: Bool = false) throws(WsCoreError) {
        let rc = binary.withUnsafeBytes { rawSend(.binary, $0, droppable) }
        try WsCoreError.check(rc)
    }

    /// Starts the close handshake (RFC 6455 §7.1.2).
    public func close(code: WsCloseCode = .normalClosure, reason: String = "") throws(WsCoreError) {
        try engine.close(id, code: code, reason: reason)
    }
}

/// The frame types an application may send.
public enum WsOpcode: Int32, Sendable {
    case text = 1
    case binary = 2
    case ping = 9
    case pong = 10
}
