// The compiler plugin of the package: every macro of NaviosWS and NaviosDI lives here, so the
// package builds one plugin (and swift-syntax once) and NaviosDI itself stays free of it.
import SwiftCompilerPlugin
import SwiftSyntaxMacros

@main
struct NaviosWSMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [
        WebSocketGatewayMacro.self,
        OnConnectionMacro.self,
        OnDisconnectionMacro.self,
        OnMessageMacro.self,
        UseWsGuardsMacro.self,
        InjectableMacro.self,
        ModuleMacro.self,
        WsJSONCodableMacro.self,
    ]
}
