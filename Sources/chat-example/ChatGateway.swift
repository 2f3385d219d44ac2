// The spec's ChatGateway: token auth at connect, rooms, typing notices that skip the sender,
// and a typed chat:message whose return value is the acknowledgement.
#if canImport(Glibc)
import Glibc
#endif
import NaviosDI
import NaviosWS

final class ChatGateway: WsGateway {
    private let server = inject(WsServer.self)
    private let users = inject(UserService.self)
    private let notifications = inject(NotificationService.self)

    init() {}

    static let gateway = WsGatewayDefinition<ChatGateway>(path: "/ws", namespace: "/chat")
        .onConnection { gateway, client in await gateway.handleConnection(client) }
        .onDisconnection { gateway, client in gateway.handleDisconnection(client) }
        .onMessage("chat:join", RoomRef.self) { gateway, params in gateway.join(params) }
        .onMessage("chat:leave", RoomRef.self) { gateway, params in gateway.leave(params) }
        .onMessage(chatMessage) { gateway, params in try gateway.message(params) }
        .onMessage(chatTyping) { gateway, params in gateway.typing(params) }
        .onMessage("notify:user", DirectNotice.self) { gateway, params in gateway.notify(params) }
        .onMessage("admin:announce", Announcement.self, guards: [AdminGuard.self]) { gateway, params in
            gateway.announce(params)
        }

    func handleConnection(_ client: WsClient) async {
        if let token = client.handshake.auth["token"]?.stringValue, let user = await users.find(byToken: token) {
            client.data["user"] = user
            client.join("user:\(user.id)")
        }
        client.emit("chat:welcome", ["clientId": client.id])
    }

    func handleDisconnection(_ client: WsClient) {
        for room in client.rooms where room.hasPrefix("room:") {
            server.to(room).emit("chat:left", TypingNotice(roomId: String(room.dropFirst(5)), userId: userId(client)))
        }
    }

    func join(_ params: WsMessageParams<RoomRef>) {
        params.client.join("room:\(params.payload.roomId)")
        params.client.emit("chat:joined", params.payload)
    }

    func leave(_ params: WsMessageParams<RoomRef>) {
        params.client.leave("room:\(params.payload.roomId)")
    }

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

    func typing(_ params: WsMessageParams<RoomRef>) {
        params.client.to("room:\(params.payload.roomId)")
            .emit("chat:typing", TypingNotice(roomId: params.payload.roomId, userId: userId(params.client)))
    }

    func notify(_ params: WsMessageParams<DirectNotice>) {
        notifications.notifyUser(params.payload.userId, DirectNotice(userId: userId(params.client), text: params.payload.text))
    }

    func announce(_ params: WsMessageParams<Announcement>) {
        notifications.broadcastAnnouncement(params.payload.message)
    }

    private func userId(_ client: WsClient) -> String {
        client.data.get("user", as: User.self)?.id ?? "guest-\(client.id)"
    }
}

/// The spec's ProtectedGateway: every client must pass WsAuthGuard at connect.
final class ProtectedGateway: WsGateway {
    private let server = inject(WsServer.self)

    init() {}

    static let gateway = WsGatewayDefinition<ProtectedGateway>(path: "/ws", namespace: "/protected")
        .guarded(by: WsAuthGuard.self)
        .onMessage("whoami", WsNoResponse.self) { _, params in
            params.client.data.get("user", as: User.self)?.name ?? "?"
        }
}

/// Milliseconds since 1970, as JavaScript's Date.now() gives them.
func wallClockMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec / 1_000_000)
}
