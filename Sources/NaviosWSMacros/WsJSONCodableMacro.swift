// @WsJSONCodable: the WsJSONCodable conformance of a struct, written from its stored
// properties as a synthesized Codable would see them (see WsJSONCodable.swift). The members go
// into the extension, not the struct, so that the memberwise initialiser stays.
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

public struct WsJSONCodableMacro: ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        let properties: [StoredProperty]
        switch StoredProperty.read(declaration, at: node) {
        case .valid(let value): properties = value
        case .invalid(let diagnostic):
            context.diagnose(diagnostic)
            return []
        }
        let access = declaration.modifiers.accessPrefixForMembers
        let reader = context.makeUniqueName("reader")
        let output = context.makeUniqueName("output")
        let members = context.makeUniqueName("members")
        let decoded = properties.filter(\.isDecoded)
        let locals = Dictionary(uniqueKeysWithValues: decoded.map { ($0.name, context.makeUniqueName($0.key)) })

        var decode = ""
        for property in decoded {
            // The member's type comes from the property itself: the extension is expanded at
            // file scope, where a type written next to the struct (a sibling nested type) would
            // not resolve by the name the property uses.
            decode += "var \(locals[property.name]!) = NaviosWS.WsJSONReader.slot(for: Self.self) { $0.\(property.name) }\n"
        }
        decode += "var \(members) = try \(reader).beginObject()\n"
        decode += "while try \(reader).nextMember(&\(members)) {\n"
        for (index, property) in decoded.enumerated() {
            decode += index == 0 ? "if " : "} else if "
            decode += "\(reader).isKey(\(property.keyLiteral)) {\n"
            decode += "try \(reader).read(into: &\(locals[property.name]!))\n"
        }
        decode += decoded.isEmpty ? "try \(reader).skipValue()\n" : "} else {\ntry \(reader).skipValue()\n}\n"
        decode += "}\n"
        for property in decoded {
            let local = locals[property.name]!
            if property.isOptional {
                // A missing member is nil, as decodeIfPresent makes it.
                decode += "self.\(property.name) = \(local) ?? nil\n"
            } else {
                decode += "guard let \(local) else {\nthrow \(reader).decline()\n}\n"
                decode += "self.\(property.name) = \(local)\n"
            }
        }

        var encode = "var \(members) = \(output).beginObject()\n"
        for property in properties {
            encode += "try \(output).write(\(property.memberLiteral), self.\(property.name), in: &\(members))\n"
        }
        encode += "\(output).endObject()\n"

        let conformance = protocols.isEmpty ? "" : ": NaviosWS.WsJSONCodable"
        let decl: DeclSyntax = """
            extension \(raw: type.trimmedDescription)\(raw: conformance) {
                \(raw: access)init(wsJSON \(reader): inout NaviosWS.WsJSONReader) throws {
                    \(raw: decode.dropLast())
                }
                \(raw: access)func encode(wsJSON \(output): inout NaviosWS.WsJSONOutput) throws {
                    \(raw: encode.dropLast())
                }
            }
            """
        return [decl.formatted().cast(ExtensionDeclSyntax.self)]
    }
}

/// A stored property as a synthesized `Codable` sees it.
struct StoredProperty {
    /// As written, backticks included: how the code names it.
    let name: String
    /// The JSON key: the name without backticks.
    let key: String
    /// Written as an optional: a missing member is nil. (An optional behind a type alias is
    /// not seen as one: a missing member then declines, and Codable decodes it as nil.)
    let isOptional: Bool
    /// A `let` with an initial value keeps it: a synthesized `init(from:)` does not decode it
    /// (but `encode(to:)` writes it).
    let isDecoded: Bool

    /// `"text"`, for comparing keys.
    var keyLiteral: String { "#\"\(key)\"#" }
    /// `"text":` with the quotes, as the output writes it.
    var memberLiteral: String { "#\"\"\(key)\":\"#" }

    static func read(_ declaration: some DeclGroupSyntax, at node: AttributeSyntax) -> Checked<[StoredProperty]> {
        func refuse(_ id: String, _ message: String, at syntax: some SyntaxProtocol) -> Checked<[StoredProperty]> {
            .invalid(Diagnostic(node: syntax, message: NaviosMacroDiagnostic(id, message)))
        }
        guard let structDecl = declaration.as(StructDeclSyntax.self) else {
            return refuse("wsJSONNotAStruct", "@WsJSONCodable applies to a struct; write the WsJSONCodable conformance by hand for other types", at: node)
        }
        if structDecl.genericParameterClause != nil {
            return refuse("wsJSONGeneric", "@WsJSONCodable does not apply to a generic struct, whose members' coding depends on its arguments; use Codable", at: node)
        }
        var properties: [StoredProperty] = []
        for member in declaration.memberBlock.members {
            if let custom = customCoding(member.decl) {
                return refuse("wsJSONCustomCoding", "@WsJSONCodable writes the JSON from the stored properties; this struct declares its own \(custom), so use Codable alone", at: member.decl)
            }
            guard let variable = member.decl.as(VariableDeclSyntax.self),
                  !variable.modifiers.contains(.static), !variable.modifiers.contains(.class)
            else { continue }
            if variable.modifiers.contains(.lazy) {
                return refuse("wsJSONLazy", "@WsJSONCodable cannot code a lazy property", at: variable)
            }
            let isLet = variable.bindingSpecifier.tokenKind == .keyword(.let)
            let bindings = Array(variable.bindings)
            for (index, binding) in bindings.enumerated() {
                if let accessors = binding.accessorBlock, isComputed(accessors) { continue }
                guard let pattern = binding.pattern.as(IdentifierPatternSyntax.self) else {
                    return refuse("wsJSONPattern", "@WsJSONCodable needs one name per property", at: binding)
                }
                // `var a, b: Int`: the type is written on the last of a run.
                let typeAnnotation = bindings[index...].lazy.compactMap(\.typeAnnotation).first?.type
                let name = pattern.identifier.text
                properties.append(StoredProperty(
                    name: name, key: name.filter { $0 != "`" },
                    isOptional: typeAnnotation.map(isOptional) ?? false,
                    isDecoded: !(isLet && binding.initializer != nil)))
            }
        }
        return .valid(properties)
    }

    private static func isComputed(_ accessors: AccessorBlockSyntax) -> Bool {
        switch accessors.accessors {
        case .getter: return true
        case .accessors(let list):
            return list.contains { [.keyword(.get), .keyword(.set), .keyword(._read), .keyword(._modify)].contains($0.accessorSpecifier.tokenKind) }
        }
    }

    private static func isOptional(_ type: TypeSyntax) -> Bool {
        if type.is(OptionalTypeSyntax.self) || type.is(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return true }
        return type.names("Optional")
    }

    /// What a type declares that a generated codec would ignore: its own keys or coding.
    private static func customCoding(_ decl: DeclSyntax) -> String? {
        if let enumDecl = decl.as(EnumDeclSyntax.self), enumDecl.name.text == "CodingKeys" { return "CodingKeys" }
        if let initializer = decl.as(InitializerDeclSyntax.self),
           initializer.signature.parameterClause.parameters.first?.firstName.text == "from" {
            return "init(from:)"
        }
        if let function = decl.as(FunctionDeclSyntax.self), function.name.text == "encode",
           function.signature.parameterClause.parameters.first?.firstName.text == "to" {
            return "encode(to:)"
        }
        return nil
    }
}
