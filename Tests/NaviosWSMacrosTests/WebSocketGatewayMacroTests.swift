// @WebSocketGateway writes the definition a gateway would write by hand (WsGateway.swift): one
// chained call per marked method, with only the effects each method has.
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite struct WebSocketGatewayMacroTests {
    @Test func chatGatewayExpandsToTheHandWrittenDefinition() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway(path: "/ws", namespace: "/chat")
            final class ChatGateway {
                @OnConnection
                func handleConnection(_ client: WsClient) async {}
                @OnDisconnection func handleDisconnection(_ client: WsClient) {}
                @OnMessage("chat:join")
                func join(_ p: WsMessageParams<RoomRef>) {}
                @OnMessage(chatMessage)
                func message(_ p: WsMessageParams<ChatMessage>) throws -> ChatMessageResponse { fatalError() }
                @OnMessage("admin:announce")
                @UseWsGuards(AdminGuard.self)
                func announce(_ p: WsMessageParams<Announcement>) {}
            }
            """#,
            expandsTo: #"""
            final class ChatGateway {
                func handleConnection(_ client: WsClient) async {}
                func handleDisconnection(_ client: WsClient) {}
                func join(_ p: WsMessageParams<RoomRef>) {}
                func message(_ p: WsMessageParams<ChatMessage>) throws -> ChatMessageResponse { fatalError() }
                func announce(_ p: WsMessageParams<Announcement>) {}

                static let gateway = NaviosWS.WsGatewayDefinition<ChatGateway>(path: "/ws", namespace: "/chat")
                .onConnection { gateway, client in
                    await gateway.handleConnection(client)
                }
                .onDisconnection { gateway, client in
                    gateway.handleDisconnection(client)
                }
                .onMessage("chat:join", RoomRef.self) { gateway, params in
                    gateway.join(params)
                }
                .onMessage(chatMessage) { gateway, params in
                    try gateway.message(params)
                }
                .onMessage("admin:announce", Announcement.self, guards: [AdminGuard.self]) { gateway, params in
                    gateway.announce(params)
                }
            }

            extension ChatGateway: NaviosWS.WsGateway {
            }
            """#)
    }

    /// `await` only for async methods: a closure without it is sync, so the handler runs inline on
    /// the loop thread; `try` only for throwing ones.
    @Test func handlersGetExactlyTheEffectsTheyDeclare() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway
            final class G {
                @OnConnection func open(_ client: WsClient) async throws {}
                @OnMessage("sync") func a(_ p: WsMessageParams<Int>) -> Int { 1 }
                @OnMessage("syncThrows") func b(_ p: WsMessageParams<Int>) throws {}
                @OnMessage("async") func c(_ p: WsMessageParams<Int>) async -> String { "" }
                @OnMessage("asyncThrows") func d(_ p: WsMessageParams<Int>) async throws(MyError) {}
            }
            """#,
            expandsTo: #"""
            final class G {
                func open(_ client: WsClient) async throws {}
                func a(_ p: WsMessageParams<Int>) -> Int { 1 }
                func b(_ p: WsMessageParams<Int>) throws {}
                func c(_ p: WsMessageParams<Int>) async -> String { "" }
                func d(_ p: WsMessageParams<Int>) async throws(MyError) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
                .onConnection { gateway, client in
                    try await gateway.open(client)
                }
                .onMessage("sync", Int.self) { gateway, params in
                    gateway.a(params)
                }
                .onMessage("syncThrows", Int.self) { gateway, params in
                    try gateway.b(params)
                }
                .onMessage("async", Int.self) { gateway, params in
                    await gateway.c(params)
                }
                .onMessage("asyncThrows", Int.self) { gateway, params in
                    try await gateway.d(params)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#)
    }

    @Test func gatewayGuardsComeFirstAndMethodGuardsAddUp() {
        MacroTesting.assertExpansion(
            #"""
            @UseWsGuards(WsAuthGuard.self)
            @WebSocketGateway(path: "/ws", namespace: "/protected", protocols: [.json, .socketIO])
            @UseWsGuards(BanGuard.self, QuotaGuard.self)
            final class ProtectedGateway {
                @OnMessage("whoami")
                @UseWsGuards(AdminGuard.self)
                @UseWsGuards(AuditGuard.self, OtherGuard.self)
                func whoami(_ p: WsMessageParams<WsNoResponse>) -> String { "" }
            }
            """#,
            expandsTo: #"""
            final class ProtectedGateway {
                func whoami(_ p: WsMessageParams<WsNoResponse>) -> String { "" }

                static let gateway = NaviosWS.WsGatewayDefinition<ProtectedGateway>(path: "/ws", namespace: "/protected", protocols: [.json, .socketIO])
                .guarded(by: WsAuthGuard.self, BanGuard.self, QuotaGuard.self)
                .onMessage("whoami", WsNoResponse.self, guards: [AdminGuard.self, AuditGuard.self, OtherGuard.self]) { gateway, params in
                    gateway.whoami(params)
                }
            }

            extension ProtectedGateway: NaviosWS.WsGateway {
            }
            """#)
    }

    /// Labels are kept, payload types are written as a metatype expression (parenthesised where
    /// `.self` needs it), a method can answer several events, and module-qualified markers count
    /// (the test harness leaves `@NaviosWS.OnConnection` in place; the compiler would remove it).
    @Test func parameterLabelsPayloadTypesAndAliases() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway(namespace: "chat")
            final class G {
                @NaviosWS.OnConnection func open(client: WsClient) {}
                @OnDisconnection func close(from client: borrowing WsClient) async {}
                @OnMessage("list") func list(params: NaviosWS.WsMessageParams<[String]>) {}
                @OnMessage("maybe") func maybe(_ p: WsMessageParams<Room?>) {}
                @OnMessage("any") func any(_ p: WsMessageParams<any Payload>) {}
                @OnMessage("ping") @OnMessage(#"legacy"ping"#) func `ping`(_ p: WsMessageParams<WsNoResponse>) {}
                func helper(_ p: WsMessageParams<Int>) {}
            }
            """#,
            expandsTo: #"""
            final class G {
                @NaviosWS.OnConnection func open(client: WsClient) {}
                func close(from client: borrowing WsClient) async {}
                func list(params: NaviosWS.WsMessageParams<[String]>) {}
                func maybe(_ p: WsMessageParams<Room?>) {}
                func any(_ p: WsMessageParams<any Payload>) {}
                func `ping`(_ p: WsMessageParams<WsNoResponse>) {}
                func helper(_ p: WsMessageParams<Int>) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>(namespace: "chat")
                .onConnection { gateway, client in
                    gateway.open(client: client)
                }
                .onDisconnection { gateway, client in
                    await gateway.close(from: client)
                }
                .onMessage("list", [String].self) { gateway, params in
                    gateway.list(params: params)
                }
                .onMessage("maybe", Room?.self) { gateway, params in
                    gateway.maybe(params)
                }
                .onMessage("any", (any Payload).self) { gateway, params in
                    gateway.any(params)
                }
                .onMessage("ping", WsNoResponse.self) { gateway, params in
                    gateway.`ping`(params)
                }
                .onMessage(#"legacy"ping"#, WsNoResponse.self) { gateway, params in
                    gateway.`ping`(params)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#)
    }

    @Test func publicGatewayGetsAPublicDefinition() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway(path: "/ws")
            public final class G {}
            """#,
            expandsTo: #"""
            public final class G {

                public static let gateway = NaviosWS.WsGatewayDefinition<G>(path: "/ws")
            }

            extension G: NaviosWS.WsGateway {
            }
            """#)
    }

    @Test func classThatStatesTheConformanceGetsOnlyTheDefinition() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway
            final class G: WsGateway {
                init() {}
            }
            """#,
            expandsTo: #"""
            final class G: WsGateway {
                init() {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
            }
            """#,
            specs: MacroTesting.specsForConformingTypes)
    }

    @Test func withInjectableTheGatewayGetsItsInit() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway(path: "/ws")
            @Injectable
            final class G {
                @OnMessage("a") func a(_ p: WsMessageParams<Int>) {}
            }
            """#,
            expandsTo: #"""
            final class G {
                func a(_ p: WsMessageParams<Int>) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>(path: "/ws")
                .onMessage("a", Int.self) { gateway, params in
                    gateway.a(params)
                }

                init() {
                }
            }

            extension G: NaviosWS.WsGateway {
            }

            extension G: NaviosDI.Injectable {
            }
            """#)
    }

    // MARK: what it refuses

    @Test func anEventHandledTwiceIsAnError() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway
            final class G {
                @OnMessage("a") func a(_ p: WsMessageParams<Int>) {}
                @OnMessage("a") func b(_ p: WsMessageParams<Int>) {}
                @OnMessage(typed) func c(_ p: WsMessageParams<Int>) {}
                @OnMessage(typed) func d(_ p: WsMessageParams<Int>) {}
            }
            """#,
            expandsTo: #"""
            final class G {
                func a(_ p: WsMessageParams<Int>) {}
                func b(_ p: WsMessageParams<Int>) {}
                func c(_ p: WsMessageParams<Int>) {}
                func d(_ p: WsMessageParams<Int>) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
                .onMessage("a", Int.self) { gateway, params in
                    gateway.a(params)
                }
                .onMessage(typed) { gateway, params in
                    gateway.c(params)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#,
            diagnostics: [
                DiagnosticSpec(message: "the gateway already has a handler for event 'a' ('a'); each can be registered once", line: 4, column: 5),
                DiagnosticSpec(message: "the gateway already has a handler for event 'typed' ('c'); each can be registered once", line: 6, column: 5),
            ])
    }

    @Test func aSecondConnectionOrDisconnectionHandlerIsAnError() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway
            final class G {
                @OnConnection func a(_ c: WsClient) {}
                @OnConnection func b(_ c: WsClient) {}
                @OnDisconnection func c(_ c: WsClient) {}
                @OnDisconnection func d(_ c: WsClient) {}
            }
            """#,
            expandsTo: #"""
            final class G {
                func a(_ c: WsClient) {}
                func b(_ c: WsClient) {}
                func c(_ c: WsClient) {}
                func d(_ c: WsClient) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
                .onConnection { gateway, client in
                    gateway.a(client)
                }
                .onDisconnection { gateway, client in
                    gateway.c(client)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#,
            diagnostics: [
                DiagnosticSpec(message: "the gateway already has a @OnConnection handler ('a'); each can be registered once", line: 4, column: 5),
                DiagnosticSpec(message: "the gateway already has a @OnDisconnection handler ('c'); each can be registered once", line: 6, column: 5),
            ])
    }

    @Test func aStructCannotBeAGateway() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway
            struct G {}
            """#,
            expandsTo: #"""
            struct G {}
            """#,
            diagnostics: [DiagnosticSpec(message: "@WebSocketGateway applies to a final class", line: 1, column: 1)])
    }

    /// A chained definition has no room for `#if`, so a handler inside one would be lost.
    @Test func handlersInsideIfConfigAreErrors() {
        MacroTesting.assertExpansion(
            #"""
            @WebSocketGateway
            final class G {
                #if DEBUG
                @OnMessage("debug") func debug(_ p: WsMessageParams<Int>) {}
                #endif
            }
            """#,
            expandsTo: #"""
            final class G {
                #if DEBUG
                func debug(_ p: WsMessageParams<Int>) {}
                #endif

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
            }

            extension G: NaviosWS.WsGateway {
            }
            """#,
            diagnostics: [
                DiagnosticSpec(message: "@OnMessage handlers cannot be inside #if: put the #if inside the method instead", line: 4, column: 5),
            ])
    }
}
