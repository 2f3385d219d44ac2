// How the macro suites expand source: swift-syntax's expansion assertions, reporting to
// swift-testing, with the macros named as the NaviosWS declarations name them.
import NaviosWSMacros
import SwiftSyntax
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

enum MacroTesting {
    /// Every macro of the plugin. Extension macros get the conformances they declare, as the
    /// compiler passes them for a type that does not state them yet.
    static let specs = makeSpecs(conforming: true)

    /// The same, for a type that already states every conformance: the compiler then passes none.
    static let specsForConformingTypes = makeSpecs(conforming: false)

    private static func makeSpecs(conforming: Bool) -> [String: MacroSpec] {
        func conformances(_ name: TypeSyntax) -> [TypeSyntax] { conforming ? [name] : [] }
        return [
            "WebSocketGateway": MacroSpec(type: WebSocketGatewayMacro.self, conformances: conformances("WsGateway")),
            "OnConnection": MacroSpec(type: OnConnectionMacro.self),
            "OnDisconnection": MacroSpec(type: OnDisconnectionMacro.self),
            "OnMessage": MacroSpec(type: OnMessageMacro.self),
            "UseWsGuards": MacroSpec(type: UseWsGuardsMacro.self),
            "Injectable": MacroSpec(type: InjectableMacro.self, conformances: conformances("Injectable")),
            "Module": MacroSpec(type: ModuleMacro.self, conformances: conformances("Module")),
            "WsJSONCodable": MacroSpec(type: WsJSONCodableMacro.self, conformances: conformances("WsJSONCodable")),
        ]
    }

    static func assertExpansion(
        _ source: String, expandsTo expanded: String, diagnostics: [DiagnosticSpec] = [],
        specs: [String: MacroSpec] = MacroTesting.specs, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        assertMacroExpansion(
            source, expandedSource: expanded, diagnostics: diagnostics, macroSpecs: specs,
            indentationWidth: .spaces(4),
            failureHandler: { Issue.record(Comment(rawValue: $0.message), sourceLocation: sourceLocation) })
    }
}
