/// A broadcast as it travels between instances: the envelope, encoded once by the instance
/// that emitted it, and who gets it, by room key (namespace and room, as the C core's room
/// index names them).
public struct WsClusterBroadcast: Sendable, Equatable {
    /// Clients in any of these rooms are selected (never empty: "everyone in a namespace" is
    /// that namespace's own room).
    public var rooms: [String]
    /// ...unless they are in one of these.
    public var exceptRooms: [String]
    /// May be dropped for clients over their backpressure limit.
    public var volatile: Bool
    /// The whole text frame's payload for JSON clients, `{"event":...,"data":...}` (empty when
    /// the rooms' namespace has no JSON gateway).
    public var envelope: [UInt8]
    /// The same event as a Socket.IO packet, for Socket.IO clients of the rooms' namespace
    /// (nil when it has no Socket.IO gateway), and the binary attachments that follow it.
    public var socketIO: [UInt8]?
    public var attachments: [[UInt8]]
    /// Its offset for connection state recovery, as its encodings carry it (nil: not kept).
    public var offset: String?

    public init(rooms: [String], exceptRooms: [String] = [], volatile: Bool = false, envelope: [UInt8],
                socketIO: [UInt8]? = nil, attachments: [[UInt8]] = [], offset: String? = nil) {
        self.offset = offset
        self.rooms = rooms
        self.exceptRooms = exceptRooms
        self.volatile = volatile
        self.envelope = envelope
        self.socketIO = socketIO
        self.attachments = attachments
    }
}

/// Which clients a cluster-wide operation acts on, on every instance.
public struct WsClusterSelection: Sendable, Codable, Equatable {
    /// nil: every namespace.
    public var namespace: String?
    public var rooms: [String]
    public var exceptRooms: [String]
    /// When set, only clients with these ids (a remote socket's own operations).
    public var ids: [String]?

    public init(namespace: String?, rooms: [String] = [], exceptRooms: [String] = [], ids: [String]? = nil) {
        self.namespace = namespace
        self.rooms = rooms
        self.exceptRooms = exceptRooms
        self.ids = ids
    }
}

/// Operations one instance asks of the others.
public enum WsClusterRequest: Sendable, Codable, Equatable {
    case fetchSockets(WsClusterSelection)
    case countSockets(WsClusterSelection)
    /// Room name → members, in one namespace (nil: all of them).
    case rooms(namespace: String?)
    case socketsJoin(WsClusterSelection, rooms: [String])
    case socketsLeave(WsClusterSelection, rooms: [String])
    /// `close`: the clients are told the server closed them, as `WsClient.disconnect(close:)`
    /// says; nil (or absent, as from instances that predate it) is false.
    case disconnectSockets(WsClusterSelection, close: Bool? = nil)
    /// An envelope for the selected clients (a remote socket's `emit`).
    case emit(WsClusterSelection, envelope: String)
    /// `serverSideEmit`: JSON `data` for the handlers registered with `onServerSideEmit`.
    case serverSideEmit(namespace: String?, event: String, data: String?, wantsAck: Bool)

    /// Whether the asking instance waits for each instance's reply.
    public var expectsReply: Bool {
        switch self {
        case .fetchSockets, .countSockets, .rooms: return true
        case .serverSideEmit(_, _, _, let wantsAck): return wantsAck
        case .socketsJoin, .socketsLeave, .disconnectSockets, .emit: return false
        }
    }
}

/// One instance's answer.
public enum WsClusterReply: Sendable, Codable, Equatable {
    case sockets([WsRemoteSocket.Snapshot])
    case count(Int)
    case rooms([String: Int])
    /// A server-side handler's JSON answer (nil: none, or no handler for the event).
    case ack(String?)
}
