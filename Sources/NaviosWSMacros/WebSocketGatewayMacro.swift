// @WebSocketGateway: writes the `gateway` definition of a class from its marked methods, as
// the hand-written form in WsGateway.swift would: one chained call per handler, in the
// order gateway guards, connection, disconnection, then messages as they appear.
//
// The definition is a member of the class, not of the conformance's extension: an extension
// is expanded at file scope, where the names the class body can use unqualified (a sibling
// nested type as payload or guard, say) are out of reach.
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

public struct WebSocketGatewayMacro: MemberMacro, ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        // Not a class: reported by the member expansion.
        guard declaration.is(ClassDeclSyntax.self), !protocols.isEmpty else { return [] }
        return [conformance(of: type, to: "NaviosWS.WsGateway")]
    }

    public static func expansion(
        of node: AttributeSyntax, providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax], in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let gatewayClass = declaration.as(ClassDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: node, message: NaviosMacroDiagnostic(
                "gatewayNotAClass", "@WebSocketGateway applies to a final class")))
            return []
        }
        let typeName = gatewayClass.name.trimmedDescription
        var calls: [String] = []

        let gatewayGuards = gatewayClass.attributes.named("UseWsGuards").flatMap(\.guardExpressions)
        if !gatewayGuards.isEmpty {
            calls.append(".guarded(by: \(gatewayGuards.joined(separator: ", ")))")
        }

        var connection: (name: String, call: String)?
        var disconnection: (name: String, call: String)?
        var messages: [String] = []
        var eventHandlers: [String: String] = [:]
        for member in gatewayClass.memberBlock.members {
            if let block = member.decl.as(IfConfigDeclSyntax.self) {
                diagnoseHandlers(in: block, context)
                continue
            }
            guard let function = member.decl.as(FunctionDeclSyntax.self) else { continue }
            for attribute in function.attributes.compactMap({ $0.as(AttributeSyntax.self) }) {
                switch attribute.simpleName {
                case "OnConnection":
                    // A method the marker rejects is reported by the marker; skip it here.
                    guard case .valid(let method) = HandlerMethod.read(function, as: .connection) else { continue }
                    if let first = connection {
                        context.diagnose(duplicate(attribute, "@OnConnection handler", first.name))
                        continue
                    }
                    connection = (method.name, ".onConnection { gateway, client in \(method.call(on: "gateway", with: "client")) }")
                case "OnDisconnection":
                    guard case .valid(let method) = HandlerMethod.read(function, as: .disconnection) else { continue }
                    if let first = disconnection {
                        context.diagnose(duplicate(attribute, "@OnDisconnection handler", first.name))
                        continue
                    }
                    disconnection = (method.name, ".onDisconnection { gateway, client in \(method.call(on: "gateway", with: "client")) }")
                case "OnMessage":
                    guard case .valid(let method) = HandlerMethod.read(function, as: .message),
                          case .valid(let event) = MessageEvent.read(attribute) else { continue }
                    if let first = eventHandlers[event.key] {
                        context.diagnose(duplicate(attribute, "handler for event \(event.display)", first))
                        continue
                    }
                    eventHandlers[event.key] = method.name
                    messages.append(messageCall(method, event, guards: function.attributes.named("UseWsGuards")))
                default:
                    continue
                }
            }
        }
        calls += [connection?.call, disconnection?.call].compactMap { $0 } + messages

        let arguments = node.argumentList.trimmedDescription
        // One call per line, as the hand-written form chains them.
        let definition = (["NaviosWS.WsGatewayDefinition<\(typeName)>(\(arguments))"] + calls).joined(separator: "\n")
        let access = gatewayClass.modifiers.accessPrefixForMembers
        return ["\(raw: access)static let gateway = \(raw: definition)"]
    }

    /// `.onMessage("name", Payload.self, guards: [...]) { gateway, params in ... }` or, for a
    /// typed event, `.onMessage(event, guards: [...]) { ... }`; the payload type then comes
    /// from the event, which the compiler checks against the method's parameter.
    private static func messageCall(_ method: HandlerMethod, _ event: MessageEvent, guards: [AttributeSyntax]) -> String {
        var arguments: [String]
        switch event {
        case .named(_, let literal): arguments = [literal.trimmedDescription, "\(method.payloadType ?? "WsNoResponse").self"]
        case .typed(let expression): arguments = [expression.trimmedDescription]
        }
        let guardTypes = guards.flatMap(\.guardExpressions)
        if !guardTypes.isEmpty {
            arguments.append("guards: [\(guardTypes.joined(separator: ", "))]")
        }
        return ".onMessage(\(arguments.joined(separator: ", "))) { gateway, params in \(method.call(on: "gateway", with: "params")) }"
    }

    private static func duplicate(_ attribute: AttributeSyntax, _ what: String, _ first: String) -> Diagnostic {
        Diagnostic(node: attribute, message: NaviosMacroDiagnostic(
            "duplicateHandler", "the gateway already has a \(what) ('\(first)'); each can be registered once"))
    }

    /// Methods inside `#if` cannot be wired: a chained definition has no place for `#if`.
    private static func diagnoseHandlers(in block: IfConfigDeclSyntax, _ context: some MacroExpansionContext) {
        for clause in block.clauses {
            guard case .decls(let members)? = clause.elements else { continue }
            for member in members {
                if let nested = member.decl.as(IfConfigDeclSyntax.self) {
                    diagnoseHandlers(in: nested, context)
                    continue
                }
                guard let function = member.decl.as(FunctionDeclSyntax.self) else { continue }
                for attribute in function.attributes.compactMap({ $0.as(AttributeSyntax.self) })
                where ["OnConnection", "OnDisconnection", "OnMessage"].contains(attribute.simpleName) {
                    context.diagnose(Diagnostic(node: attribute, message: NaviosMacroDiagnostic(
                        "handlerInIfConfig",
                        "@\(attribute.simpleName) handlers cannot be inside #if: put the #if inside the method instead")))
                }
            }
        }
    }
}

extension AttributeSyntax {
    /// The guard types of a `@UseWsGuards(...)`, as written.
    var guardExpressions: [String] { argumentList.map { $0.expression.trimmedDescription } }
}
