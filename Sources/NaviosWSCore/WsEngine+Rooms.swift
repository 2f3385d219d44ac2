internal import CNaviosWS

/// Rooms on the engine: named sets of connections indexed by each loop for its own members
/// (see nws_rooms.h), the one record of membership. Joining twice, or leaving a room one is
/// not in, does nothing; a connection leaves every room when it closes (after `onClose`).
/// From the connection's loop thread a join or leave acts at once; from elsewhere it is
/// posted to that loop, and a refusal there is not reported.
extension WsEngine {
    public func join(_ id: WsConnectionID, room: String) throws(WsCoreError) {
        var room = room
        try WsCoreError.check(room.withUTF8 { nws_room_join(server, id.rawValue, $0.baseAddress, $0.count) })
    }

    public func leave(_ id: WsConnectionID, room: String) throws(WsCoreError) {
        var room = room
        try WsCoreError.check(room.withUTF8 { nws_room_leave(server, id.rawValue, $0.baseAddress, $0.count) })
    }

    /// Queues `message` once to every connection in any of `rooms` (every connection of the
    /// server when `rooms` is empty), except those in any of `except` and `exceptID`.
    public func broadcast(
        _ message: WsPreparedMessage, toRooms rooms: [String], except: [String] = [],
        exceptID: WsConnectionID? = nil, droppable: Bool = false
    ) throws(WsCoreError) {
        // Room names are handed to C as pointer + length: keep their UTF-8 alive for the call.
        let names = rooms.map { Array($0.utf8) }
        let excluded = except.map { Array($0.utf8) }
        let rc = withRoomRefs(names) { roomRefs in
            withRoomRefs(excluded) { exceptRefs in
                nws_room_broadcast(
                    server, message.message, roomRefs.baseAddress, roomRefs.count,
                    exceptRefs.baseAddress, exceptRefs.count, exceptID?.rawValue ?? 0,
                    droppable ? UInt32(NWS_SEND_DROPPABLE.rawValue) : 0)
            }
        }
        try WsCoreError.check(rc)
    }
}

/// Builds nws_room_ref values over byte arrays that stay alive for the duration of `body`.
private func withRoomRefs<R>(_ names: [[UInt8]], _ body: (UnsafeBufferPointer<nws_room_ref>) -> R) -> R {
    var refs: [nws_room_ref] = []
    refs.reserveCapacity(names.count)
    func collect(_ index: Int) -> R {
        if index == names.count { return refs.withUnsafeBufferPointer(body) }
        return names[index].withUnsafeBufferPointer { bytes in
            // CChar and UInt8 have the same size and alignment: the C side reads bytes.
            bytes.withMemoryRebound(to: CChar.self) { chars in
                refs.append(nws_room_ref(name: chars.baseAddress, len: chars.count))
                return collect(index + 1)
            }
        }
    }
    return collect(0)
}

extension WsEngine {
    /// The rooms connection `id` is in, or nil when it is gone; from any thread.
    public func rooms(of id: WsConnectionID) -> [String]? {
        var names: [String] = []
        let rc = withUnsafeMutablePointer(to: &names) { out in
            nws_conn_rooms(server, id.rawValue, { ctx, room, length, _ in
                collected([String].self, ctx).pointee.append(roomName(room, length))
            }, out)
        }
        return rc == 0 ? names : nil
    }

    /// The members of `room` on every loop; from any thread.
    public func members(ofRoom room: String) -> [WsConnectionID] {
        var room = room
        var ids: [WsConnectionID] = []
        withUnsafeMutablePointer(to: &ids) { out in
            room.withUTF8 { name in
                nws_room_members(server, name.baseAddress, name.count, { ctx, id in
                    collected([WsConnectionID].self, ctx).pointee.append(WsConnectionID(rawValue: id))
                }, out)
            }
        }
        return ids
    }

    /// Every room with a member on this engine, and how many members it has; from any thread.
    public var roomSizes: [String: Int] {
        var sizes: [String: Int] = [:]
        withUnsafeMutablePointer(to: &sizes) { out in
            nws_room_list(server, { ctx, room, length, members in
                collected([String: Int].self, ctx).pointee[roomName(room, length)] = members
            }, out)
        }
        return sizes
    }

    /// Members of a room on the calling loop (call from a loop thread: a handler or `post`);
    /// -1 off the loops. For tests and diagnostics.
    public func localRoomSize(_ room: String) -> Int {
        var room = room
        return room.withUTF8 { Int(nws_room_local_size(server, $0.baseAddress, $0.count)) }
    }
}

private func roomName(_ bytes: UnsafePointer<CChar>?, _ length: Int) -> String {
    String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
}

/// The value a room reader collects into, from the context pointer the C callback is handed:
/// sound, as each reader passes a pointer to a value of exactly that type, alive for the call.
private func collected<T>(_ type: T.Type, _ ctx: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<T> {
    ctx.unsafelyUnwrapped.assumingMemoryBound(to: T.self)
}
