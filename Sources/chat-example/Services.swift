// Services of the chat example: users found by token, and notifications sent from outside
// any gateway (the spec's "Broadcasting from Services").
import NaviosWS

/// Demo accounts; a real application would look tokens up in its auth system.
@Injectable
final class UserService {
    private let usersByToken: [String: User] = [
        "alice-token": User(id: "alice", name: "Alice", isAdmin: true),
        "bob-token": User(id: "bob", name: "Bob", isAdmin: false),
        "carol-token": User(id: "carol", name: "Carol", isAdmin: false),
    ]

    func find(byToken token: String) async -> User? { usersByToken[token] }
}

@Injectable
final class NotificationService {
    private let ws = inject(WsService.self)

    /// Every connection of that user, in any namespace (its "user:<id>" rooms).
    func notifyUser(_ userId: String, _ notice: DirectNotice) {
        ws.to("user:\(userId)").emit("notification", notice)
    }

    /// Every connected client of every gateway.
    func broadcastAnnouncement(_ message: String) {
        ws.emit("announcement", Announcement(message: message))
    }
}

/// Gateway-level guard: a client needs a known token (query `?token=` or a Bearer header),
/// which admits it for `tokenLifetime`; `session_refresh` {"token": T} renews that in band with
/// a token of the same user.
@Injectable
final class WsAuthGuard: WsSessionGuard {
    private let users = inject(UserService.self)

    func canActivate(_ context: WsExecutionContext) async throws -> Bool {
        let client = context.getClient()
        guard let token = client.handshake.auth["token"]?.stringValue,
              let user = await users.find(byToken: token) else { return false }
        client.data["user"] = user
        return true
    }

    func sessionLifetime(_ context: WsExecutionContext) async throws -> Duration? { tokenLifetime }

    func refresh(_ context: WsExecutionContext) async throws -> Duration? {
        guard let token = context.payload?["token"]?.stringValue, let user = await users.find(byToken: token),
              user.id == context.client.data.get("user", as: User.self)?.id else { return nil }
        return tokenLifetime
    }
}

/// Handler-level guard: only admins may announce.
@Injectable
final class AdminGuard: WsGuard {
    func canActivate(_ context: WsExecutionContext) async throws -> Bool {
        context.client.data.get("user", as: User.self)?.isAdmin == true
    }
}
