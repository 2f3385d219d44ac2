/// The bounds the runtime holds each client to (from ``WsConfig``), and how much of what a
/// client sent an error reply may echo.
struct WsGatewayLimits: Sendable {
    var maxRoomsPerClient: Int
    var maxRoomNameBytes: Int
    var maxEventNameBytes: Int
    var socketIOConnectTimeout: Duration
    var sessionGrace: Duration

    init(_ config: WsConfig) {
        socketIOConnectTimeout = config.socketIOConnectTimeout
        sessionGrace = config.sessionGrace
        maxRoomsPerClient = config.maxRoomsPerClient
        maxRoomNameBytes = config.maxRoomNameBytes
        maxEventNameBytes = config.maxEventNameBytes
    }

    /// At most `maxEventNameBytes` of a name a client sent, cut where a character begins: an
    /// error reply names the event without sending a megabyte name back.
    func echo(_ name: UnsafeRawBufferPointer) -> String {
        String(decoding: name.prefix(utf8Bytes: maxEventNameBytes), as: UTF8.self)
    }

    /// Why `join` refuses a room by its name, or nil when the name is within the limit. (The
    /// count of rooms is the room index's to check: ``tooManyRooms``.)
    func refusal(joiningRoomNamed room: String) -> WsException? {
        guard room.utf8.count > maxRoomNameBytes else { return nil }
        return WsException(.limitExceeded, "the room name is longer than \(maxRoomNameBytes) bytes")
    }

    /// What `join` throws past ``maxRoomsPerClient`` rooms.
    var tooManyRooms: WsException {
        WsException(.limitExceeded, "a client may be in at most \(maxRoomsPerClient) rooms")
    }

    /// The engine's bound on a connection's rooms: the client's own, and its namespace's room.
    var roomsPerConnection: Int { maxRoomsPerClient < Int.max ? maxRoomsPerClient + 1 : Int.max }
}

extension UnsafeRawBufferPointer {
    /// The first `limit` bytes at most of this UTF-8 text, cut where a character begins.
    func prefix(utf8Bytes limit: Int) -> UnsafeRawBufferPointer {
        var end = Swift.min(count, limit)
        if end < count {
            while end > 0 && self[end] & 0xC0 == 0x80 { end -= 1 }   // a continuation byte
        }
        return UnsafeRawBufferPointer(rebasing: self[..<end])
    }
}

extension String {
    /// The first `limit` bytes at most of the string's UTF-8, cut where a character begins.
    func prefix(utf8Bytes limit: Int) -> String {
        guard utf8.count > limit else { return self }
        var copy = self
        return copy.withUTF8 { String(decoding: UnsafeRawBufferPointer($0).prefix(utf8Bytes: limit), as: UTF8.self) }
    }
}
