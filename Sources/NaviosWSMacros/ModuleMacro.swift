// @Module(providers:imports:): the `Module` conformance with its two lists. A provider written
// `X.self` is an injectable class (`.type(X.self)`); `Provider.value(...)` and the other
// `Provider` constructors are kept as written; anything else is a token (`.token(x)`).
//
// The lists are members of the type itself, so they name types as its body would.
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

public struct ModuleMacro: MemberMacro, ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax], in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        var providers: [String] = []
        var imports: [String]?
        for argument in node.argumentList {
            guard let label = argument.label?.text else { continue }
            guard let array = argument.expression.as(ArrayExprSyntax.self) else {
                context.diagnose(Diagnostic(node: argument.expression, message: NaviosMacroDiagnostic(
                    "moduleListNotLiteral",
                    "@Module(\(label):) takes an array literal; for a computed list, write the Module conformance by hand")))
                return []
            }
            let elements = array.elements.map(\.expression)
            switch label {
            case "providers": providers = elements.map(provider)
            case "imports": imports = elements.map(\.trimmedDescription)
            default: continue
            }
        }
        let access = declaration.modifiers.accessPrefixForMembers
        var members: [DeclSyntax] = [
            "\(raw: access)static var providers: [NaviosDI.Provider] { [\(raw: providers.joined(separator: ", "))] }",
        ]
        if let imports {
            members.append("\(raw: access)static var imports: [any NaviosDI.Module.Type] { [\(raw: imports.joined(separator: ", "))] }")
        }
        return members
    }

    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        // With a list the member role refused, the conformance would only add a second error.
        let listsAreLiterals = node.argumentList.allSatisfy { $0.expression.is(ArrayExprSyntax.self) }
        return protocols.isEmpty || !listsAreLiterals ? [] : [conformance(of: type, to: "NaviosDI.Module")]
    }

    private static func provider(_ expression: ExprSyntax) -> String {
        let text = expression.trimmedDescription
        if let member = expression.as(MemberAccessExprSyntax.self), member.base != nil,
           member.declName.baseName.tokenKind == .keyword(.self) {
            return ".type(\(text))"
        }
        if let call = expression.as(FunctionCallExprSyntax.self),
           let callee = call.calledExpression.as(MemberAccessExprSyntax.self)?.base?.trimmedDescription,
           callee == "Provider" || callee == "NaviosDI.Provider" {
            return text
        }
        return ".token(\(text))"
    }
}
