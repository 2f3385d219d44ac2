/// One Socket.IO connection (an Engine.IO session, over WebSocket or long-polling) as the runtime
/// keeps it on its loop: a client per namespace the connection joined with a CONNECT, the
/// request that opened it (each client's handshake is made from it), and a binary packet whose
/// attachments are still coming.
final class WsSocketIOConnection: WsLoopObject {
    let request: WsUpgradeRequest
    /// The client of each namespace joined, by namespace.
    var sockets: [String: WsLoopSlot] = [:] {
        didSet { main = sockets["/"] }
    }
    /// The client of the main namespace, where nearly every packet goes: found without hashing.
    private(set) var main: WsLoopSlot?
    /// Namespaces whose CONNECT waits for its session to be taken back.
    var connecting: Set<String> = []
    /// A BINARY_EVENT or BINARY_ACK waiting for its attachments: its text, the packet read from
    /// it (ranges into the text; it announces how many), and those that came (each a binary
    /// message, in order).
    var pending: (text: [UInt8], packet: SocketIOPacket, attachments: [[UInt8]])?
    /// Whether a CONNECT was ever accepted (else the connect timeout closes the connection).
    var everConnected = false

    init(request: WsUpgradeRequest) {
        self.request = request
        super.init(isSocketIO: true)
    }

    override func slot(of namespace: String) -> WsLoopSlot? { sockets[namespace] }
    override var slots: [WsLoopSlot] { Array(sockets.values) }
}
