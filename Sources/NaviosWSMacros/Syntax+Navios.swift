// Small readings of syntax shared by the macros.
import SwiftSyntax
import SwiftSyntaxBuilder

extension AttributeSyntax {
    /// The attribute's name without a module qualifier: `OnMessage` for `@NaviosWS.OnMessage`.
    var simpleName: String {
        if let member = attributeName.as(MemberTypeSyntax.self) { return member.name.text }
        return attributeName.as(IdentifierTypeSyntax.self)?.name.text ?? attributeName.trimmedDescription
    }

    /// The attribute's arguments, empty when it has none or no parentheses.
    var argumentList: LabeledExprListSyntax {
        if case .argumentList(let list)? = arguments { return list }
        return []
    }
}

extension AttributeListSyntax {
    /// The plain attributes (not `#if` blocks of attributes) called `name`, in source order.
    func named(_ name: String) -> [AttributeSyntax] {
        compactMap { element in
            guard case .attribute(let attribute) = element, attribute.simpleName == name else { return nil }
            return attribute
        }
    }

    func contains(_ name: String) -> Bool { !named(name).isEmpty }
}

extension DeclModifierListSyntax {
    /// The access keyword a member generated for a type of these modifiers needs to satisfy a
    /// protocol requirement where the type is visible: `public ` for public and open types,
    /// `package ` for package ones, nothing otherwise.
    var accessPrefixForMembers: String {
        for modifier in self {
            switch modifier.name.tokenKind {
            case .keyword(.public), .keyword(.open): return "public "
            case .keyword(.package): return "package "
            default: continue
            }
        }
        return ""
    }

    func contains(_ keyword: Keyword) -> Bool {
        contains { $0.name.tokenKind == .keyword(keyword) }
    }
}

extension TypeSyntax {
    /// The type without `sending`, `borrowing` and attributes such as `@Sendable`.
    var withoutSpecifiers: TypeSyntax {
        if let attributed = self.as(AttributedTypeSyntax.self) { return attributed.baseType.withoutSpecifiers }
        return self
    }

    /// Whether the type is written `inout T`, which a handler closure cannot pass.
    var isInout: Bool {
        guard let attributed = self.as(AttributedTypeSyntax.self) else { return false }
        return attributed.specifiers.contains { $0.trimmedDescription == "inout" }
    }

    /// Whether this names `name` (or `Module.name`), ignoring generic arguments.
    func names(_ name: String) -> Bool {
        if let identifier = self.as(IdentifierTypeSyntax.self) { return identifier.name.text == name }
        if let member = self.as(MemberTypeSyntax.self) { return member.name.text == name }
        return false
    }

    /// The generic arguments written after the type's name (`<ChatMessage>`), if any.
    var genericArguments: GenericArgumentListSyntax? {
        if let identifier = self.as(IdentifierTypeSyntax.self) { return identifier.genericArgumentClause?.arguments }
        if let member = self.as(MemberTypeSyntax.self) { return member.genericArgumentClause?.arguments }
        return nil
    }

    /// Whether the type is `Void` or `()`.
    var isVoid: Bool {
        if names("Void") { return true }
        if let tuple = self.as(TupleTypeSyntax.self) { return tuple.elements.isEmpty }
        return false
    }
}

/// `extension T: Module.P {}`: the conformance an extension macro adds, named with its module
/// so that a user type of the same name (`Module` is a likely one) cannot stand in for it.
/// Members go into the type itself (member macros), so that they resolve names as the type's
/// own body does.
func conformance(of type: some TypeSyntaxProtocol, to qualifiedProtocol: String) -> ExtensionDeclSyntax {
    let decl: DeclSyntax = "extension \(raw: type.trimmedDescription): \(raw: qualifiedProtocol) {}"
    return decl.cast(ExtensionDeclSyntax.self)
}
