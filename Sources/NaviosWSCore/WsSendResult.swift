internal import CNaviosWS

/// What became of one message handed to a connection.
public enum WsSendResult: Sendable, Equatable {
    /// Queued on the connection, or, from a thread other than its loop's, handed to that loop
    /// (where a connection that closed meanwhile drops it).
    case sent
    /// A droppable (volatile) message, dropped: the connection's queue is over its limit.
    case dropped
    /// Over the queue's limit: the connection is being closed with 1008 (`.close` policy).
    case backpressure
    /// The connection is closing or gone.
    case closed

    package init(_ rc: Int32) {
        switch rc {
        case 0: self = .sent
        case Int32(NWS_EDROPPED.rawValue): self = .dropped
        case Int32(NWS_EBACKPRESSURE.rawValue): self = .backpressure
        default: self = .closed
        }
    }
}

extension WsCoreServer {
    /// Queues a text message of connection `id`: what became of it.
    @inline(__always)
    package func sendText(_ id: WsConnectionID, _ bytes: UnsafeRawBufferPointer, droppable: Bool) -> WsSendResult {
        WsSendResult(send(id, .text, bytes, droppable))
    }
}
