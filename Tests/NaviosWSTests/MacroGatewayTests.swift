// The macros as a user writes them: a gateway, services and modules declared with
// @WebSocketGateway, @Injectable and @Module compile, give the definition the hand-written
// form gives, and build in a container. No sockets: the definitions are read directly.
//
// Only NaviosWS is imported: its re-export of NaviosDI is what the expansions rely on.
import Testing
@testable import NaviosWS

/// The types of this suite, in one namespace so their names cannot clash with other suites'.
/// Nesting them also checks that the expansions name nested types correctly.
enum MacroFixtures {
    struct Note: Codable, Sendable, Equatable {
        var text: String
    }

    @Injectable
    final class AllowAll: WsGuard {
        func canActivate(_ context: WsExecutionContext) async throws -> Bool { true }
    }

    @Injectable
    final class DenyAll: WsGuard {
        func canActivate(_ context: WsExecutionContext) async throws -> Bool { false }
    }

    @Injectable
    final class NoteStore {
        let name = "notes"
    }

    /// A new one for every injection.
    @Injectable(scope: .transient)
    final class RequestStamp {}

    @WebSocketGateway(path: "/ws", namespace: "macro")
    @UseWsGuards(AllowAll.self)
    @Injectable
    final class NotesGateway {
        let server = inject(WsServer.self)
        let store = inject(NoteStore.self)

        @OnConnection
        func open(_ client: WsClient) async {}

        @OnDisconnection
        func close(_ client: WsClient) {}

        @OnMessage("note:add")
        func add(_ params: WsMessageParams<Note>) -> Note { params.payload }

        @OnMessage("note:save")
        @UseWsGuards(DenyAll.self)
        func save(params: WsMessageParams<Note>) async throws {}

        /// Private: the generated extension is in this file, so it may call it.
        @OnMessage(macroNoteEvent)
        private func typed(_ params: WsMessageParams<Note>) throws -> Note { params.payload }
    }

    /// What the macros write for NotesGateway, written by hand (WsGateway.swift's form).
    final class HandWrittenNotesGateway: WsGateway {
        static let gateway = WsGatewayDefinition<HandWrittenNotesGateway>(path: "/ws", namespace: "macro")
            .guarded(by: AllowAll.self)
            .onConnection { gateway, client in await gateway.open(client) }
            .onDisconnection { gateway, client in gateway.close(client) }
            .onMessage("note:add", Note.self) { gateway, params in gateway.add(params) }
            .onMessage("note:save", Note.self, guards: [DenyAll.self]) { gateway, params in try await gateway.save(params: params) }
            .onMessage(macroNoteEvent) { gateway, params in try gateway.typed(params) }

        init() {}
        func open(_ client: WsClient) async {}
        func close(_ client: WsClient) {}
        func add(_ params: WsMessageParams<Note>) -> Note { params.payload }
        func save(params: WsMessageParams<Note>) async throws {}
        func typed(_ params: WsMessageParams<Note>) throws -> Note { params.payload }
    }

    /// A gateway with nothing but defaults: the root URL and namespace.
    @WebSocketGateway
    @Injectable
    final class BareGateway {}

    @Module(providers: [Provider.value(macroGreeting, "hello")])
    enum SharedModule {}

    @Module(
        providers: [NotesGateway.self, NoteStore.self, macroGreeting, macroAnswer],
        imports: [SharedModule.self])
    final class AppModule {}
}

/// A typed event for the gateway above.
private let macroNoteEvent = wsBuilder().declareWsEvent(
    event: "note:typed", payload: MacroFixtures.Note.self, response: MacroFixtures.Note.self)
/// Provided by SharedModule with a value.
private let macroGreeting = InjectionToken<String>("greeting")
/// Listed in AppModule and provided by nothing else: a value comes from its default factory.
private let macroAnswer = InjectionToken<Int>("answer") { 42 }

@Suite struct MacroGatewayTests {
    typealias F = MacroFixtures

    /// The handler set of a definition, as the runtime sees it: per event, sync or async and its
    /// guards.
    private func shape<G: WsGateway>(_ type: G.Type) -> [String: String] {
        G.gateway.messageHandlers.mapValues { handler in
            let kind = switch handler.body {
            case .sync: "sync"
            case .async: "async"
            }
            return ([kind] + handler.guards.map { "\($0)" }).joined(separator: " ")
        }
    }

    @Test func gatewayDefinitionHasTheMacroArguments() {
        let definition = F.NotesGateway.gateway
        #expect(definition.path == "/ws")
        #expect(definition.namespace == "/macro")
        #expect(definition.url == "/ws/macro")
        #expect(definition.protocols == [.json])
        #expect(definition.guards.map(ObjectIdentifier.init) == [ObjectIdentifier(F.AllowAll.self)])
    }

    @Test func everyMarkedMethodIsAHandler() {
        let definition = F.NotesGateway.gateway
        #expect(definition.connectionHandler != nil)
        #expect(definition.disconnectionHandler != nil)
        #expect(definition.binaryHandler == nil)
        #expect(Set(definition.messageHandlers.keys) == ["note:add", "note:save", "note:typed"])
        #expect(definition.messageHandlers.values.allSatisfy { $0.payloadType == F.Note.self })
    }

    /// Sync methods become sync handlers (run inline on the loop thread), async ones async;
    /// method-level guards stay on their handler.
    @Test func handlersKeepTheirEffectsAndGuards() {
        #expect(shape(F.NotesGateway.self) == [
            "note:add": "sync",
            "note:save": "async DenyAll",
            "note:typed": "sync",
        ])
    }

    @Test func macroAndHandWrittenFormsAreTheSame() {
        let macro = F.NotesGateway.gateway
        let hand = F.HandWrittenNotesGateway.gateway
        #expect(macro.url == hand.url)
        #expect(macro.guards.map(ObjectIdentifier.init) == hand.guards.map(ObjectIdentifier.init))
        #expect((macro.connectionHandler != nil) == (hand.connectionHandler != nil))
        #expect((macro.disconnectionHandler != nil) == (hand.disconnectionHandler != nil))
        #expect(shape(F.NotesGateway.self) == shape(F.HandWrittenNotesGateway.self))
    }

    @Test func bareGatewayListensAtTheRoot() {
        let definition = F.BareGateway.gateway
        #expect(definition.url == "/")
        #expect(definition.namespace == "/")
        #expect(definition.guards.isEmpty)
        #expect(definition.connectionHandler == nil)
        #expect(definition.messageHandlers.isEmpty)
    }

    @Test func injectableScopesAreTheDeclaredOnes() {
        #expect(F.NoteStore.scope == .singleton)
        #expect(F.NotesGateway.scope == .singleton)
        #expect(F.RequestStamp.scope == .transient)
    }

    @Test func moduleListsItsProvidersAndImports() {
        #expect(F.AppModule.providers.count == 4)
        #expect(F.AppModule.imports.map(ObjectIdentifier.init) == [ObjectIdentifier(F.SharedModule.self)])
        #expect(F.SharedModule.providers.count == 1)
        #expect(F.SharedModule.imports.isEmpty)
    }

    @Test func containerBuildsTheMacroModule() async throws {
        let container = try await Container.create(F.AppModule.self)
        defer { WsHub.forget(container) }
        let gateway = try container.get(F.NotesGateway.self)
        #expect(gateway.server.namespace == "/macro")
        #expect(gateway.store === (try container.get(F.NoteStore.self)))
        #expect(try container.get(macroGreeting) == "hello")
        #expect(try container.get(macroAnswer) == 42)
        #expect(try container.get(F.RequestStamp.self) !== (try container.get(F.RequestStamp.self)))
        #expect(container.providedTypes.contains { ObjectIdentifier($0) == ObjectIdentifier(F.NotesGateway.self) })
    }
}
