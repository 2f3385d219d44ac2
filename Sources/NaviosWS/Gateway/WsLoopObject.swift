/// What the engine keeps with a connection for the runtime (its user object): a JSON client's
/// slot, or a Socket.IO connection with a slot per namespace. Retained by the connection from
/// onOpen to onClose, and the engine hands it out only on the connection's loop thread
/// (`userObject` is nil anywhere else): no other thread can reach it. Not Sendable.
///
/// Which of the two it is is a stored flag, read once per message: cheaper than a dynamic cast.
class WsLoopObject {
    final let isSocketIO: Bool

    init(isSocketIO: Bool) { self.isSocketIO = isSocketIO }

    /// The slot of the client in `namespace`, if there is one.
    func slot(of namespace: String) -> WsLoopSlot? { nil }
    /// Every client's slot.
    var slots: [WsLoopSlot] { [] }
}

/// What only the loop thread that owns a client's connection reads and writes: whether the
/// gateway's guards and onConnection are done, the messages that came before, and the async
/// handler runs queued.
final class WsLoopSlot: WsLoopObject {
    let client: WsClient
    /// The reader of the client's text messages (for a JSON client,
    /// ``WsGatewayRuntime/readJSON``), kept here: a message reaches it through the one object
    /// it borrows.
    let readText: WsTextReader
    /// Until the gateway's guards and onConnection are done, messages wait in `early`, in order.
    var ready = false
    var early: [WsEarlyMessage] = []
    /// Async handler runs queued but not started: a later sync message must queue behind them.
    var queuedRuns = 0

    init(_ client: WsClient, reader: @escaping WsTextReader) {
        self.client = client
        self.readText = reader
        super.init(isSocketIO: false)
    }

    override func slot(of namespace: String) -> WsLoopSlot? { namespace == client.namespace ? self : nil }
    override var slots: [WsLoopSlot] { [self] }
}

/// A message that came before its client was ready, with the attachments that came with it.
struct WsEarlyMessage {
    let text: [UInt8]
    let attachments: WsAttachments?
}
