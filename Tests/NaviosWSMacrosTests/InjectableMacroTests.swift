// @Injectable writes what Injectable.swift asks for: the conformance, `init()` when the class
// has none, and the scope only when it is not the default.
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite struct InjectableMacroTests {
    @Test func classGetsTheConformanceAndAnInit() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable
            final class UserService {
                private let repo = inject(UserRepository.self)
            }
            """#,
            expandsTo: #"""
            final class UserService {
                private let repo = inject(UserRepository.self)

                init() {
                }
            }

            extension UserService: NaviosDI.Injectable {
            }
            """#)
    }

    @Test func aDeclaredInitIsKept() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable
            final class UserService {
                let repo: UserRepository
                init() { repo = inject(UserRepository.self) }
            }
            """#,
            expandsTo: #"""
            final class UserService {
                let repo: UserRepository
                init() { repo = inject(UserRepository.self) }
            }

            extension UserService: NaviosDI.Injectable {
            }
            """#)
    }

    /// Another initialiser hides the implicit `init()`, which the container needs.
    @Test func otherInitialisersDoNotCount() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable
            final class Clock {
                var zone = "UTC"
                init(zone: String) { self.zone = zone }
                init?() { return nil }
            }
            """#,
            expandsTo: #"""
            final class Clock {
                var zone = "UTC"
                init(zone: String) { self.zone = zone }
                init?() { return nil }

                init() {
                }
            }

            extension Clock: NaviosDI.Injectable {
            }
            """#)
    }

    @Test func transientScopeIsWrittenSingletonIsNot() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable(scope: .transient)
            final class RequestId {}
            @Injectable(scope: .singleton)
            final class Cache {}
            @Injectable(scope: InjectableScope.singleton)
            final class Store {}
            """#,
            expandsTo: #"""
            final class RequestId {

                static var scope: NaviosDI.InjectableScope {
                    .transient
                }

                init() {
                }
            }
            final class Cache {

                init() {
                }
            }
            final class Store {

                init() {
                }
            }

            extension RequestId: NaviosDI.Injectable {
            }

            extension Cache: NaviosDI.Injectable {
            }

            extension Store: NaviosDI.Injectable {
            }
            """#)
    }

    @Test func publicClassGetsPublicMembers() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable(scope: .transient)
            public final class Service {}
            """#,
            expandsTo: #"""
            public final class Service {

                public static var scope: NaviosDI.InjectableScope {
                    .transient
                }

                public init() {
                }
            }

            extension Service: NaviosDI.Injectable {
            }
            """#)
    }

    /// A class that can be subclassed satisfies a protocol's `init()` only with `required`.
    @Test func nonFinalClassGetsARequiredInitAndActorsAPlainOne() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable
            open class Base {}
            @Injectable
            actor Counter {}
            """#,
            expandsTo: #"""
            open class Base {

                public required init() {
                }
            }
            actor Counter {

                init() {
                }
            }

            extension Base: NaviosDI.Injectable {
            }

            extension Counter: NaviosDI.Injectable {
            }
            """#)
    }

    @Test func typeThatStatesTheConformanceGetsOnlyItsScope() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable(scope: .transient)
            final class A: Injectable {}
            @Injectable
            final class B: Injectable {}
            """#,
            expandsTo: #"""
            final class A: Injectable {

                static var scope: NaviosDI.InjectableScope {
                    .transient
                }

                init() {
                }
            }
            final class B: Injectable {

                init() {
                }
            }
            """#,
            specs: MacroTesting.specsForConformingTypes)
    }

    @Test func aStructIsAnError() {
        MacroTesting.assertExpansion(
            #"""
            @Injectable
            struct Config {}
            """#,
            expandsTo: #"""
            struct Config {}
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@Injectable applies to a final class or an actor: a container shares one instance, so it must be a reference",
                line: 1, column: 1)])
    }
}
