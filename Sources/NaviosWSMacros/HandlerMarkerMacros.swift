// @OnConnection, @OnDisconnection, @OnMessage and @UseWsGuards: markers that expand to nothing.
// @WebSocketGateway reads them from the class body; their own expansion only checks that they
// are used where it will see them, on a method it can call, and reports what is wrong there.
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxMacros

public struct OnConnectionMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        checkHandler(node, declaration, .connection, in: context)
        return []
    }
}

public struct OnDisconnectionMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        checkHandler(node, declaration, .disconnection, in: context)
        return []
    }
}

public struct OnMessageMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        if case .invalid(let diagnostic) = MessageEvent.read(node) {
            context.diagnose(diagnostic)
            return []
        }
        checkHandler(node, declaration, .message, in: context)
        return []
    }
}

public struct UseWsGuardsMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        if let problem = problem(of: node, on: declaration) {
            context.diagnose(Diagnostic(node: node, message: problem))
        }
        return []
    }

    private static func problem(of node: AttributeSyntax, on declaration: some DeclSyntaxProtocol) -> NaviosMacroDiagnostic? {
        if node.argumentList.isEmpty {
            return NaviosMacroDiagnostic("noGuards", "@UseWsGuards needs at least one guard type, as in '@UseWsGuards(AdminGuard.self)'")
        }
        if let type = declaration.as(ClassDeclSyntax.self) {
            guard !type.attributes.contains("WebSocketGateway") else { return nil }
            return NaviosMacroDiagnostic(
                "guardsWithoutGateway",
                "@UseWsGuards on a class needs @WebSocketGateway: it guards that gateway's connections")
        }
        guard let function = declaration.as(FunctionDeclSyntax.self) else {
            return NaviosMacroDiagnostic(
                "guardsMisplaced", "@UseWsGuards applies to a @WebSocketGateway class or to one of its @OnMessage methods")
        }
        let attributes = function.attributes
        if attributes.contains("OnConnection") || attributes.contains("OnDisconnection") {
            return NaviosMacroDiagnostic(
                "guardsOnConnectionHandler",
                "@UseWsGuards cannot guard a connection handler: put it on the @WebSocketGateway class to check clients at connect")
        }
        if !attributes.contains("OnMessage") {
            return NaviosMacroDiagnostic(
                "guardsWithoutHandler", "@UseWsGuards on a method needs @OnMessage: it guards that message handler")
        }
        return nil
    }
}

/// Reports the first reason the gateway macro could not wire `declaration` as a `kind` handler.
private func checkHandler(
    _ node: AttributeSyntax, _ declaration: some DeclSyntaxProtocol, _ kind: HandlerKind,
    in context: some MacroExpansionContext
) {
    if case .invalid(let diagnostic) = HandlerMethod.read(declaration, as: kind) {
        context.diagnose(diagnostic)
    } else if let diagnostic = placementProblem(node, kind, in: context) {
        context.diagnose(diagnostic)
    }
}

/// A marker does something only on a method in the body of a @WebSocketGateway class: that body
/// is all the gateway macro is given, so a marker anywhere else would be silently ignored.
private func placementProblem(
    _ node: AttributeSyntax, _ kind: HandlerKind, in context: some MacroExpansionContext
) -> Diagnostic? {
    let marker = "@\(kind.attributeName)"
    let enclosing = context.lexicalContext.first
    if let type = enclosing?.as(ClassDeclSyntax.self) {
        if type.attributes.contains("WebSocketGateway") { return nil }
        return Diagnostic(node: node, message: NaviosMacroDiagnostic(
            "markerWithoutGateway", "\(marker) has no effect: '\(type.name.text)' is not marked @WebSocketGateway"))
    }
    if enclosing?.is(ExtensionDeclSyntax.self) == true {
        return Diagnostic(node: node, message: NaviosMacroDiagnostic(
            "markerInExtension",
            "\(marker) has no effect in an extension: declare the handler in the body of the @WebSocketGateway class, which is all the macro sees"))
    }
    return Diagnostic(node: node, message: NaviosMacroDiagnostic(
        "markerOutsideGateway", "\(marker) has no effect here: it marks a method of a @WebSocketGateway class"))
}
