// A gateway method marked @OnConnection, @OnDisconnection or @OnMessage, read from its
// declaration: what the gateway macro needs to call it, or why it cannot be called.
//
// The marker macros and @WebSocketGateway read methods with the same function, so a method
// the marker accepts is one the gateway macro can wire, and only the marker reports problems.
import SwiftDiagnostics
import SwiftSyntax

/// Which marker a method carries; decides the parameter it must take.
enum HandlerKind {
    case connection
    case disconnection
    case message

    var attributeName: String {
        switch self {
        case .connection: "OnConnection"
        case .disconnection: "OnDisconnection"
        case .message: "OnMessage"
        }
    }

    /// The parameter the method must take, as the diagnostics spell it.
    var expectedParameter: String {
        switch self {
        case .connection, .disconnection: "WsClient"
        case .message: "WsMessageParams<Payload>"
        }
    }

    var example: String {
        switch self {
        case .connection: "func handleConnection(_ client: WsClient) async"
        case .disconnection: "func handleDisconnection(_ client: WsClient)"
        case .message: "func join(_ params: WsMessageParams<RoomRef>)"
        }
    }
}

struct HandlerMethod {
    let name: String
    /// The parameter's argument label; nil for `_`.
    let label: String?
    /// For @OnMessage: the payload type inside `WsMessageParams<...>`.
    let payloadType: String?
    let isAsync: Bool
    let isThrowing: Bool

    /// `try await receiver.name(label: argument)`, with only the effects the method has: a
    /// sync method called without `await` keeps its closure sync, which is what makes a
    /// message handler run inline on the loop thread.
    func call(on receiver: String, with argument: String) -> String {
        let effects = (isThrowing ? "try " : "") + (isAsync ? "await " : "")
        let labelPrefix = label.map { "\($0): " } ?? ""
        return "\(effects)\(receiver).\(name)(\(labelPrefix)\(argument))"
    }

    /// Reads `declaration` as a handler of `kind`, or returns the problem to report.
    static func read(_ declaration: some SyntaxProtocol, as kind: HandlerKind) -> Checked<HandlerMethod> {
        let marker = "@\(kind.attributeName)"
        guard let function = declaration.as(FunctionDeclSyntax.self) else {
            return .invalid(Diagnostic(node: declaration, message: NaviosMacroDiagnostic(
                "notAMethod", "\(marker) applies to a method of the gateway, such as '\(kind.example)'")))
        }
        let name = function.name.text
        if function.modifiers.contains(.static) || function.modifiers.contains(.class) {
            return .invalid(Diagnostic(node: function.name, message: NaviosMacroDiagnostic(
                "staticHandler", "\(marker) handler '\(name)' must be an instance method: the gateway calls it on its instance")))
        }
        if let generics = function.genericParameterClause {
            return .invalid(Diagnostic(node: generics, message: NaviosMacroDiagnostic(
                "genericHandler", "\(marker) handler '\(name)' cannot be generic: the gateway must know the types it is called with")))
        }
        let parameters = function.signature.parameterClause.parameters
        guard parameters.count == 1, let parameter = parameters.first, parameter.ellipsis == nil, !parameter.type.isInout,
              let payloadType = Self.payloadType(of: parameter.type, for: kind)
        else {
            return .invalid(Diagnostic(node: function.signature.parameterClause, message: NaviosMacroDiagnostic(
                "wrongParameter",
                "\(marker) handler '\(name)' must take exactly one parameter of type \(kind.expectedParameter), as in '\(kind.example)'")))
        }
        let effects = function.signature.effectSpecifiers
        let isThrowing = effects?.throwsClause != nil
        if kind == .disconnection, let throwsClause = effects?.throwsClause {
            return .invalid(Diagnostic(node: throwsClause, message: NaviosMacroDiagnostic(
                "throwingDisconnection",
                "@OnDisconnection handler '\(name)' cannot throw: the client is gone, so there is no one to report the error to; handle it inside the method")))
        }
        if kind != .message, let returnType = function.signature.returnClause?.type, !returnType.isVoid {
            return .invalid(Diagnostic(node: returnType, message: NaviosMacroDiagnostic(
                "connectionReturnsValue",
                "\(marker) handler '\(name)' must not return a value: nothing receives it (only @OnMessage handlers answer the client)")))
        }
        let label = parameter.firstName.tokenKind == .wildcard ? nil : parameter.firstName.text
        return .valid(HandlerMethod(
            name: name, label: label, payloadType: kind == .message ? payloadType : nil,
            isAsync: effects?.asyncSpecifier != nil, isThrowing: isThrowing))
    }

    /// The payload type for @OnMessage (`X` of `WsMessageParams<X>`), "" for connection
    /// handlers taking `WsClient`; nil when the parameter is not of the expected type.
    private static func payloadType(of type: TypeSyntax, for kind: HandlerKind) -> String? {
        let type = type.withoutSpecifiers
        switch kind {
        case .connection, .disconnection:
            return type.names("WsClient") && type.genericArguments == nil ? "" : nil
        case .message:
            guard type.names("WsMessageParams"), let arguments = type.genericArguments, arguments.count == 1,
                  case .type(let payload)? = arguments.first?.argument
            else { return nil }
            // `any P` and `A & B` need parentheses to be followed by `.self`.
            if payload.is(SomeOrAnyTypeSyntax.self) || payload.is(CompositionTypeSyntax.self) {
                return "(\(payload.trimmedDescription))"
            }
            return payload.trimmedDescription
        }
    }
}
