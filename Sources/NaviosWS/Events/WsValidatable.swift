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
public protocol WsValidatable {
    static var schema: WsSchema<Self> { get }
}

extension WsValidatable {
    /// Lets code that holds an `any WsValidatable` reach the schema of the concrete type.
    func validationIssues() -> [WsValidationIssue] {
        Self.schema.validate(self)
    }
}
