// The spec's ChatGateway: token auth at connect, rooms, typing notices that skip the sender,
// and a typed chat:message whose return value is the acknowledgement. Native WebSocket clients
// (JSON, at /ws/chat) and Socket.IO clients (namespace /chat at /socket.io/) share its rooms.
//
// Written with the macros, as DESIGN §3 writes it. The hand-written form is equivalent (it is
// what @WebSocketGateway and @Injectable expand to): `final class ChatGateway: WsGateway` with
// `init() {}` and
//     static let gateway = WsGatewayDefinition<ChatGateway>(path: "/ws", namespace: "/chat",
//                                                            protocols: [.json, .socketIO])
//         .onConnection { gateway, client in await gateway.handleConnection(client) }
//         .onMessage("chat:join", RoomRef.self) { gateway, params in gateway.join(params) }
//         .onMessage(chatMessage) { gateway, params in try gateway.message(params) }
//         .onMessage("admin:announce", Announcement.self, guards: [AdminGuard.self]) { ... }
//         ...
#if canImport(Glibc)
import Glibc
#endif
import NaviosWS

@WebSocketGateway(path: "/ws", namespace: "/chat", protocols: [.json, .socketIO])
@Injectable
final class ChatGateway {
    private let server = inject(WsServer.self)
    private let users = inject(UserService.self)
    private let notifications = inject(NotificationService.self)

    @OnConnection
    func handleConnection(_ client: WsClient) async {
        if let token = client.handshake.auth["token"]?.stringValue, let user = await users.find(byToken: token) {
            client.data["user"] = user
            try? client.join("user:\(user.id)")   // an id is far below the name limit
        }
        client.emit("chat:welcome", ["clientId": client.id])
    }

    @OnDisconnection
    func handleDisconnection(_ client: WsClient) {
        for room in client.rooms where room.hasPrefix("room:") {
            server.to(room).emit("chat:left", TypingNotice(roomId: String(room.dropFirst(5)), userId: userId(client)))
        }
    }

    @OnMessage("chat:join")
    func join(_ params: WsMessageParams<RoomRef>) throws {
        try params.client.join("room:\(params.payload.roomId)")
        params.client.emit("chat:joined", params.payload)
    }

    @OnMessage("chat:leave")
    func leave(_ params: WsMessageParams<RoomRef>) {
        params.client.leave("room:\(params.payload.roomId)")
    }

    @OnMessage(chatMessage)
    func message(_ params: WsMessageParams<ChatMessage>) throws -> ChatMessageResponse {
        guard params.client.rooms.contains("room:\(params.payload.roomId)") else {
            throw WsException("not_in_room", "join room \(params.payload.roomId) first")
        }
        let response = ChatMessageResponse(
            roomId: params.payload.roomId, userId: userId(params.client), message: params.payload.text,
            timestamp: wallClockMilliseconds())
        server.to("room:\(params.payload.roomId)").emit("chat:message", response)
        return response
    }

    @OnMessage(chatTyping)
    func typing(_ params: WsMessageParams<RoomRef>) {
        params.client.to("room:\(params.payload.roomId)")
            .emit("chat:typing", TypingNotice(roomId: params.payload.roomId, userId: userId(params.client)))
    }

    @OnMessage("notify:user")
    func notify(_ params: WsMessageParams<DirectNotice>) {
        notifications.notifyUser(params.payload.userId, DirectNotice(userId: userId(params.client), text: params.payload.text))
    }

    @OnMessage("admin:announce")
    @UseWsGuards(AdminGuard.self)
    func announce(_ params: WsMessageParams<Announcement>) {
        notifications.broadcastAnnouncement(params.payload.message)
    }

    private func userId(_ client: WsClient) -> String {
        client.data.get("user", as: User.self)?.id ?? "guest-\(client.id)"
    }
}

/// The spec's ProtectedGateway: every client must pass WsAuthGuard at connect.
@WebSocketGateway(path: "/ws", namespace: "/protected")
@UseWsGuards(WsAuthGuard.self)
@Injectable
final class ProtectedGateway {
    private let server = inject(WsServer.self)

    /// The name the guard found for this client's token.
    @OnMessage("whoami")
    func whoami(_ params: WsMessageParams<WsNoResponse>) -> String {
        params.client.data.get("user", as: User.self)?.name ?? "?"
    }
}

/// Milliseconds since 1970, as JavaScript's Date.now() gives them.
func wallClockMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec / 1_000_000)
}
