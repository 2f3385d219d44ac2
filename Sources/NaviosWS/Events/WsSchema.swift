/// The constraints on a payload type, the Swift form of the spec's zod schema. The shape (which
/// fields exist, their JSON types) is already checked by `Decodable`; a schema adds the rules
/// decoding cannot express: lengths, patterns, ranges, counts and custom checks.
///
///     static let schema = WsSchema<ChatMessage> {
///         $0.string("roomId", \.roomId, minLength: 1, maxLength: 64, pattern: "^[a-z0-9-]+$")
///         $0.string("text", \.text, maxLength: 1000)
///         $0.number("priority", \.priority, min: 0, max: 10)
///         $0.custom("text", "must not be blank") { !$0.text.allSatisfy(\.isWhitespace) }
///     }
///
/// Every rule runs, so a client learns about all its mistakes at once, in the order the rules
/// were written.
public struct WsSchema<T>: Sendable {
    /// Appends the issues one rule finds in a value. Rules append rather than return so a valid
    /// payload (the common case) allocates nothing.
    typealias Rule = @Sendable (T, inout [WsValidationIssue]) -> Void

    let rules: [Rule]

    /// Builds the schema from the rules `define` adds.
    public init(_ define: (inout WsSchemaRules<T>) -> Void) {
        var collector = WsSchemaRules<T>()
        define(&collector)
        rules = collector.rules
    }

    /// A schema made of one rule, for the library's own conformances (arrays, optionals).
    init(rule: @escaping Rule) {
        rules = [rule]
    }

    /// Every issue found in `value`; empty when it is valid.
    public func validate(_ value: T) -> [WsValidationIssue] {
        var issues: [WsValidationIssue] = []
        for rule in rules {
            rule(value, &issues)
        }
        return issues
    }
}
