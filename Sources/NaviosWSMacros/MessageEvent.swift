// The event of an @OnMessage attribute: a string literal names a plain event, anything else is
// a typed event declared with `declareWsEvent` (the macro's overloads take `StaticString` or
// `WsEvent<P, R>`, so the compiler has already ruled out a `String` variable).
import SwiftDiagnostics
import SwiftSyntax

enum MessageEvent {
    /// `@OnMessage("chat:join")`: the name, and the literal as written.
    case named(String, ExprSyntax)
    /// `@OnMessage(chatMessage)`: the event value's expression.
    case typed(ExprSyntax)

    /// Equal keys mean the same event registered twice.
    var key: String {
        switch self {
        case .named(let name, _): "\"\(name)\""
        case .typed(let expression): expression.trimmedDescription
        }
    }

    var display: String {
        switch self {
        case .named(let name, _): "'\(name)'"
        case .typed(let expression): "'\(expression.trimmedDescription)'"
        }
    }

    static func read(_ attribute: AttributeSyntax) -> Checked<MessageEvent> {
        let arguments = attribute.argumentList
        guard arguments.count == 1, let argument = arguments.first, argument.label == nil else {
            return .invalid(Diagnostic(node: attribute, message: NaviosMacroDiagnostic(
                "onMessageArgument",
                "@OnMessage takes the event: a name such as @OnMessage(\"chat:join\") or a typed event such as @OnMessage(chatMessage)")))
        }
        // Diagnostics point at the attached node; the trimmed copy is what the expansion writes.
        let expression = argument.expression
        guard let literal = expression.as(StringLiteralExprSyntax.self) else { return .valid(.typed(expression.trimmed)) }
        guard let name = literal.representedLiteralValue else {
            return .invalid(Diagnostic(node: literal, message: NaviosMacroDiagnostic(
                "interpolatedEvent", "@OnMessage event name must be a plain string literal, without interpolation")))
        }
        guard !name.isEmpty else {
            return .invalid(Diagnostic(node: literal, message: NaviosMacroDiagnostic(
                "emptyEvent", "@OnMessage event name must not be empty")))
        }
        return .valid(.named(name, expression.trimmed))
    }
}
