// @Module writes Module.swift's two lists: `X.self` becomes `.type(X.self)`, a token
// `.token(t)`, and `Provider` constructors stay as written.
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite struct ModuleMacroTests {
    @Test func typesAndTokensBecomeProviders() {
        MacroTesting.assertExpansion(
            #"""
            @Module(providers: [WsToken, ChatGateway.self, Tokens.config, Generic<Int>.self])
            final class AppModule {}
            """#,
            expandsTo: #"""
            final class AppModule {

                static var providers: [NaviosDI.Provider] {
                    [.token(WsToken), .type(ChatGateway.self), .token(Tokens.config), .type(Generic<Int>.self)]
                }
            }

            extension AppModule: NaviosDI.Module {
            }
            """#)
    }

    @Test func importsAreListed() {
        MacroTesting.assertExpansion(
            #"""
            @Module(providers: [UserService.self], imports: [UsersModule.self, Lib.AuthModule.self])
            enum AppModule {}
            """#,
            expandsTo: #"""
            enum AppModule {

                static var providers: [NaviosDI.Provider] {
                    [.type(UserService.self)]
                }

                static var imports: [any NaviosDI.Module.Type] {
                    [UsersModule.self, Lib.AuthModule.self]
                }
            }

            extension AppModule: NaviosDI.Module {
            }
            """#)
    }

    @Test func providerConstructorsAreKeptAsWritten() {
        MacroTesting.assertExpansion(
            #"""
            @Module(providers: [Provider.value(Greeting, "hi"), NaviosDI.Provider.factory(Clock, scope: .transient, makeClock)])
            struct M {}
            """#,
            expandsTo: #"""
            struct M {

                static var providers: [NaviosDI.Provider] {
                    [Provider.value(Greeting, "hi"), NaviosDI.Provider.factory(Clock, scope: .transient, makeClock)]
                }
            }

            extension M: NaviosDI.Module {
            }
            """#)
    }

    @Test func emptyAndPublicModules() {
        MacroTesting.assertExpansion(
            #"""
            @Module
            public final class Empty {}
            @Module(imports: [])
            final class OnlyImports {}
            """#,
            expandsTo: #"""
            public final class Empty {

                public static var providers: [NaviosDI.Provider] {
                    []
                }
            }
            final class OnlyImports {

                static var providers: [NaviosDI.Provider] {
                    []
                }

                static var imports: [any NaviosDI.Module.Type] {
                    []
                }
            }

            extension Empty: NaviosDI.Module {
            }

            extension OnlyImports: NaviosDI.Module {
            }
            """#)
    }

    @Test func typeThatStatesTheConformanceGetsOnlyTheLists() {
        MacroTesting.assertExpansion(
            #"""
            @Module(providers: [A.self])
            final class M: Module {}
            """#,
            expandsTo: #"""
            final class M: Module {

                static var providers: [NaviosDI.Provider] {
                    [.type(A.self)]
                }
            }
            """#,
            specs: MacroTesting.specsForConformingTypes)
    }

    @Test func listsMustBeArrayLiterals() {
        MacroTesting.assertExpansion(
            #"""
            @Module(providers: sharedProviders)
            final class M {}
            """#,
            expandsTo: #"""
            final class M {}
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@Module(providers:) takes an array literal; for a computed list, write the Module conformance by hand",
                line: 1, column: 20)])
    }
}
