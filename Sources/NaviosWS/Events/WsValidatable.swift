/// A payload type with constraints beyond its shape (the spec's `z.string().max(1000)` and the
/// like). The runtime checks them after decoding and before any handler runs; a payload that
/// breaks one never reaches the handler.
///
///     struct ChatMessage: Decodable, Sendable, WsValidatable {
///         var roomId: String
///         var text: String
///         static let schema = WsSchema<ChatMessage> {
///             $0.string("roomId", \.roomId, minLength: 1, maxLength: 64, pattern: "^[a-z0-9-]+$")
///             $0.string("text", \.text, maxLength: 1000)
///         }
///     }
///
/// Declare `schema` as a `static let`: it is then built once, not on every message.
///
/// `Sendable` because validation runs on whichever loop thread received the message, and rules
/// reach nested types' schemas from `@Sendable` closures; payloads are `Sendable` anyway.
public protocol WsValidatable: Sendable {
    static var schema: WsSchema<Self> { get }
}

extension WsValidatable {
    /// Lets code that holds an `any WsValidatable` reach the schema of the concrete type, and
    /// lets rules reach a nested type's schema through a value rather than by capturing its
    /// metatype in a `@Sendable` closure.
    func validationIssues() -> [WsValidationIssue] {
        Self.schema.validate(self)
    }
}
