// @Injectable: the `Injectable` conformance, the scope when it is not the default, and the
// `init()` the container calls when the class has none.
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

public struct InjectableMacro: MemberMacro, ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax], in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        let isClass = declaration.is(ClassDeclSyntax.self)
        guard isClass || declaration.is(ActorDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: node, message: NaviosMacroDiagnostic(
                "injectableNotAClass",
                "@Injectable applies to a final class or an actor: a container shares one instance, so it must be a reference")))
            return []
        }
        let access = declaration.modifiers.accessPrefixForMembers
        var members: [DeclSyntax] = []
        if let scope = node.argumentList.first(where: { $0.label?.text == "scope" })?.expression.trimmedDescription,
           ![".singleton", "InjectableScope.singleton", "NaviosDI.InjectableScope.singleton"].contains(scope) {
            members.append("\(raw: access)static var scope: NaviosDI.InjectableScope { \(raw: scope) }")
        }
        // `init() {}` when the class declares no `init()`: the implicit one disappears as soon as
        // any other initialiser is written, and is internal, too narrow for a public class.
        let hasInit = declaration.memberBlock.members.contains { member in
            guard let initializer = member.decl.as(InitializerDeclSyntax.self) else { return false }
            return initializer.signature.parameterClause.parameters.isEmpty && initializer.optionalMark == nil
        }
        if !hasInit {
            // A class that can be subclassed satisfies the protocol's init() only with a required one.
            let required = isClass && !declaration.modifiers.contains(.final) ? "required " : ""
            members.append("\(raw: access)\(raw: required)init() {}")
        }
        return members
    }

    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        guard declaration.is(ClassDeclSyntax.self) || declaration.is(ActorDeclSyntax.self), !protocols.isEmpty else { return [] }
        return [conformance(of: type, to: "NaviosDI.Injectable")]
    }
}
