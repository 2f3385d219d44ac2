// The markers expand to nothing; what they do is refuse, at the attribute or the offending
// part of the method, what @WebSocketGateway could not wire. The gateway macro then skips the
// method, so each problem is reported once.
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite struct HandlerMarkerMacroTests {
    /// The class around each case; `members` are indented by the caller.
    private func gateway(_ members: String) -> String {
        "@WebSocketGateway\nfinal class G {\n\(members)\n}"
    }

    private func expandedGateway(_ members: String) -> String {
        "final class G {\n\(members)\n\n    static let gateway = NaviosWS.WsGatewayDefinition<G>()\n}\n\nextension G: NaviosWS.WsGateway {\n}"
    }

    private func assertRefused(
        _ member: String, _ expandedMember: String, _ message: String, column: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        MacroTesting.assertExpansion(
            gateway("    " + member), expandsTo: expandedGateway("    " + expandedMember),
            diagnostics: [DiagnosticSpec(message: message, line: 3, column: column)], sourceLocation: sourceLocation)
    }

    // MARK: @OnMessage

    @Test func onMessageParameterMustBeWsMessageParams() {
        assertRefused(
            #"@OnMessage("a") func a(_ text: String) {}"#, #"func a(_ text: String) {}"#,
            "@OnMessage handler 'a' must take exactly one parameter of type WsMessageParams<Payload>, as in 'func join(_ params: WsMessageParams<RoomRef>)'",
            column: 27)
    }

    @Test func onMessageTakesExactlyOneParameter() {
        assertRefused(
            #"@OnMessage("a") func a(_ p: WsMessageParams<Int>, _ more: Int) {}"#,
            #"func a(_ p: WsMessageParams<Int>, _ more: Int) {}"#,
            "@OnMessage handler 'a' must take exactly one parameter of type WsMessageParams<Payload>, as in 'func join(_ params: WsMessageParams<RoomRef>)'",
            column: 27)
        assertRefused(
            #"@OnMessage("a") func a() {}"#, #"func a() {}"#,
            "@OnMessage handler 'a' must take exactly one parameter of type WsMessageParams<Payload>, as in 'func join(_ params: WsMessageParams<RoomRef>)'",
            column: 27)
    }

    @Test func onMessageParameterCannotBeInoutOrVariadic() {
        assertRefused(
            #"@OnMessage("a") func a(_ p: inout WsMessageParams<Int>) {}"#, #"func a(_ p: inout WsMessageParams<Int>) {}"#,
            "@OnMessage handler 'a' must take exactly one parameter of type WsMessageParams<Payload>, as in 'func join(_ params: WsMessageParams<RoomRef>)'",
            column: 27)
        assertRefused(
            #"@OnMessage("a") func a(_ p: WsMessageParams<Int>...) {}"#, #"func a(_ p: WsMessageParams<Int>...) {}"#,
            "@OnMessage handler 'a' must take exactly one parameter of type WsMessageParams<Payload>, as in 'func join(_ params: WsMessageParams<RoomRef>)'",
            column: 27)
    }

    @Test func onMessageEventNameMustBeAPlainNonEmptyLiteral() {
        assertRefused(
            #"@OnMessage("room:\(id)") func a(_ p: WsMessageParams<Int>) {}"#, #"func a(_ p: WsMessageParams<Int>) {}"#,
            "@OnMessage event name must be a plain string literal, without interpolation", column: 16)
        assertRefused(
            #"@OnMessage("") func a(_ p: WsMessageParams<Int>) {}"#, #"func a(_ p: WsMessageParams<Int>) {}"#,
            "@OnMessage event name must not be empty", column: 16)
        assertRefused(
            #"@OnMessage(event: "a") func a(_ p: WsMessageParams<Int>) {}"#, #"func a(_ p: WsMessageParams<Int>) {}"#,
            #"@OnMessage takes the event: a name such as @OnMessage("chat:join") or a typed event such as @OnMessage(chatMessage)"#,
            column: 5)
    }

    @Test func handlersMustBeInstanceMethods() {
        assertRefused(
            #"@OnMessage("a") static func a(_ p: WsMessageParams<Int>) {}"#, #"static func a(_ p: WsMessageParams<Int>) {}"#,
            "@OnMessage handler 'a' must be an instance method: the gateway calls it on its instance", column: 33)
        assertRefused(
            #"@OnMessage("a") var a: Int = 0"#, #"var a: Int = 0"#,
            "@OnMessage applies to a method of the gateway, such as 'func join(_ params: WsMessageParams<RoomRef>)'", column: 5)
    }

    @Test func handlersCannotBeGeneric() {
        assertRefused(
            #"@OnMessage("a") func a<P>(_ p: WsMessageParams<P>) {}"#, #"func a<P>(_ p: WsMessageParams<P>) {}"#,
            "@OnMessage handler 'a' cannot be generic: the gateway must know the types it is called with", column: 27)
    }

    // MARK: @OnConnection, @OnDisconnection

    @Test func connectionHandlersTakeAWsClient() {
        assertRefused(
            #"@OnConnection func open(_ p: WsMessageParams<Int>) {}"#, #"func open(_ p: WsMessageParams<Int>) {}"#,
            "@OnConnection handler 'open' must take exactly one parameter of type WsClient, as in 'func handleConnection(_ client: WsClient) async'",
            column: 28)
        assertRefused(
            #"@OnDisconnection func close() {}"#, #"func close() {}"#,
            "@OnDisconnection handler 'close' must take exactly one parameter of type WsClient, as in 'func handleDisconnection(_ client: WsClient)'",
            column: 32)
    }

    @Test func disconnectionHandlerCannotThrow() {
        assertRefused(
            #"@OnDisconnection func close(_ c: WsClient) async throws {}"#, #"func close(_ c: WsClient) async throws {}"#,
            "@OnDisconnection handler 'close' cannot throw: the client is gone, so there is no one to report the error to; handle it inside the method",
            column: 54)
    }

    @Test func connectionHandlersReturnNothing() {
        assertRefused(
            #"@OnConnection func open(_ c: WsClient) -> Bool { true }"#, #"func open(_ c: WsClient) -> Bool { true }"#,
            "@OnConnection handler 'open' must not return a value: nothing receives it (only @OnMessage handlers answer the client)",
            column: 47)
    }

    @Test func connectionHandlersMayReturnVoid() {
        MacroTesting.assertExpansion(
            gateway("    @OnConnection func open(_ c: WsClient) -> Void {}\n    @OnDisconnection func close(_ c: WsClient) -> () {}"),
            expandsTo: #"""
            final class G {
                func open(_ c: WsClient) -> Void {}
                func close(_ c: WsClient) -> () {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
                .onConnection { gateway, client in
                    gateway.open(client)
                }
                .onDisconnection { gateway, client in
                    gateway.close(client)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#)
    }

    // MARK: where markers go

    @Test func markerInAClassWithoutGatewayIsAnError() {
        MacroTesting.assertExpansion(
            #"""
            final class NotAGateway {
                @OnMessage("a") func a(_ p: WsMessageParams<Int>) {}
            }
            """#,
            expandsTo: #"""
            final class NotAGateway {
                func a(_ p: WsMessageParams<Int>) {}
            }
            """#,
            diagnostics: [DiagnosticSpec(message: "@OnMessage has no effect: 'NotAGateway' is not marked @WebSocketGateway", line: 2, column: 5)])
    }

    @Test func markerInAnExtensionIsAnError() {
        MacroTesting.assertExpansion(
            #"""
            extension ChatGateway {
                @OnConnection func open(_ c: WsClient) {}
            }
            """#,
            expandsTo: #"""
            extension ChatGateway {
                func open(_ c: WsClient) {}
            }
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@OnConnection has no effect in an extension: declare the handler in the body of the @WebSocketGateway class, which is all the macro sees",
                line: 2, column: 5)])
    }

    @Test func markerOnAGlobalFunctionIsAnError() {
        MacroTesting.assertExpansion(
            #"""
            @OnDisconnection func close(_ c: WsClient) {}
            """#,
            expandsTo: #"""
            func close(_ c: WsClient) {}
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@OnDisconnection has no effect here: it marks a method of a @WebSocketGateway class", line: 1, column: 1)])
    }

    // MARK: @UseWsGuards

    @Test func guardsNeedAtLeastOneType() {
        MacroTesting.assertExpansion(
            gateway(#"    @OnMessage("a") @UseWsGuards() func a(_ p: WsMessageParams<Int>) {}"#),
            expandsTo: #"""
            final class G {
                func a(_ p: WsMessageParams<Int>) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
                .onMessage("a", Int.self) { gateway, params in
                    gateway.a(params)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@UseWsGuards needs at least one guard type, as in '@UseWsGuards(AdminGuard.self)'", line: 3, column: 21)])
    }

    @Test func guardsOnAMethodNeedOnMessage() {
        assertRefused(
            #"@UseWsGuards(AdminGuard.self) func a(_ p: WsMessageParams<Int>) {}"#,
            #"func a(_ p: WsMessageParams<Int>) {}"#,
            "@UseWsGuards on a method needs @OnMessage: it guards that message handler", column: 5)
    }

    @Test func guardsCannotGuardConnectionHandlers() {
        MacroTesting.assertExpansion(
            gateway("    @OnConnection @UseWsGuards(AdminGuard.self) func open(_ c: WsClient) {}"),
            expandsTo: #"""
            final class G {
                func open(_ c: WsClient) {}

                static let gateway = NaviosWS.WsGatewayDefinition<G>()
                .onConnection { gateway, client in
                    gateway.open(client)
                }
            }

            extension G: NaviosWS.WsGateway {
            }
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@UseWsGuards cannot guard a connection handler: put it on the @WebSocketGateway class to check clients at connect",
                line: 3, column: 19)])
    }

    @Test func guardsOnAClassNeedWebSocketGateway() {
        MacroTesting.assertExpansion(
            #"""
            @UseWsGuards(WsAuthGuard.self)
            final class G {}
            """#,
            expandsTo: #"""
            final class G {}
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@UseWsGuards on a class needs @WebSocketGateway: it guards that gateway's connections", line: 1, column: 1)])
    }

    @Test func guardsElsewhereAreAnError() {
        MacroTesting.assertExpansion(
            #"""
            @UseWsGuards(WsAuthGuard.self)
            struct S {}
            """#,
            expandsTo: #"""
            struct S {}
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@UseWsGuards applies to a @WebSocketGateway class or to one of its @OnMessage methods", line: 1, column: 1)])
    }
}
