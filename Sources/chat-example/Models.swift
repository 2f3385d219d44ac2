// The chat example's payloads: what the spec's zod schemas describe, as Codable types. The
// message-path ones also have generated JSON codecs (@WsJSONCodable); the others stay plain
// Codable, and both kinds answer clients the same way.
import NaviosWS

@WsJSONCodable
struct RoomRef: Codable, Sendable, WsValidatable {
    var roomId: String
    static let schema = WsSchema<RoomRef> {
        $0.string("roomId", \.roomId, minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$")
    }
}

/// `z.object({ roomId: z.string(), text: z.string().max(1000) })`
@WsJSONCodable
struct ChatMessage: Codable, Sendable, WsValidatable {
    var roomId: String
    var text: String
    static let schema = WsSchema<ChatMessage> {
        $0.string("roomId", \.roomId, minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$")
        $0.string("text", \.text, minLength: 1, maxLength: 1000)
    }
}

/// `z.object({ userId: z.string(), message: z.string(), timestamp: z.number() })`
@WsJSONCodable
struct ChatMessageResponse: Codable, Sendable {
    var roomId: String
    var userId: String
    var message: String
    var timestamp: Double
}

@WsJSONCodable
struct TypingNotice: Codable, Sendable {
    var roomId: String
    var userId: String
}

struct Announcement: Codable, Sendable, WsValidatable {
    var message: String
    static let schema = WsSchema<Announcement> { $0.string("message", \.message, minLength: 1, maxLength: 500) }
}

struct DirectNotice: Codable, Sendable {
    var userId: String
    var text: String
}

struct User: Codable, Sendable {
    var id: String
    var name: String
    var isAdmin: Bool
}

/// The typed events of the spec's `wsBuilder()` example.
let WS = wsBuilder()
let chatMessage = WS.declareWsEvent(event: "chat:message", payload: ChatMessage.self, response: ChatMessageResponse.self)
let chatTyping = WS.declareWsEvent(event: "chat:typing", payload: RoomRef.self)
