/// One Socket.IO connection (an Engine.IO session, over WebSocket or long-polling) as the runtime
/// keeps it on its loop: a client per namespace the connection joined with a CONNECT, the
/// handshake of the request that opened it (each client's is this one with its CONNECT's auth,
/// sharing its storage), and a binary packet whose attachments are still coming.
///
/// Thousands of these sit idle, so what most connections never use takes no storage: a
/// connection on the main namespace only has no table of namespaces, and a binary packet
/// being assembled lives behind a reference.
final class WsSocketIOConnection: WsLoopObject {
    /// A BINARY_EVENT or BINARY_ACK waiting for its attachments: its text, the packet read from
    /// it (ranges into the text; it announces how many), and those that came (each a binary
    /// message, in order).
    final class PendingBinary {
        let text: [UInt8]
        let packet: SocketIOPacket
        var attachments: [[UInt8]] = []

        init(text: [UInt8], packet: SocketIOPacket) {
            self.text = text
            self.packet = packet
        }
    }

    let handshake: WsHandshake
    /// The client of the main namespace, where nearly every packet goes: found without hashing.
    private(set) var main: WsLoopSlot?
    /// The clients of the other namespaces joined, by namespace.
    private var others: [String: WsLoopSlot] = [:]
    /// Namespaces whose CONNECT waits for its session to be taken back.
    private var connecting: Set<String> = []
    var pending: PendingBinary?
    /// Whether a CONNECT was ever accepted (else the connect timeout closes the connection).
    var everConnected = false

    init(handshake: WsHandshake) {
        self.handshake = handshake
        super.init(isSocketIO: true)
    }

    /// The client of each namespace joined.
    subscript(namespace: String) -> WsLoopSlot? {
        get { namespace == "/" ? main : others[namespace] }
        set {
            if namespace == "/" { main = newValue } else { others[namespace] = newValue }
        }
    }

    /// Whether a CONNECT to `namespace` is answered or awaited: a second one does nothing.
    func isJoiningOrJoined(_ namespace: String) -> Bool {
        self[namespace] != nil || connecting.contains(namespace)
    }

    func startConnecting(_ namespace: String) { connecting.insert(namespace) }

    /// Ends the wait of a CONNECT to `namespace`; false when it was not waiting.
    func finishConnecting(_ namespace: String) -> Bool {
        guard connecting.remove(namespace) != nil else { return false }
        if connecting.isEmpty { connecting = [] }   // a set keeps its storage when emptied
        return true
    }

    override func slot(of namespace: String) -> WsLoopSlot? { self[namespace] }
    override var slots: [WsLoopSlot] { (main.map { [$0] } ?? []) + others.values }
}
