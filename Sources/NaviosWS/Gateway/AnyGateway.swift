/// A gateway with its type erased, bound to its instance: what the runtime routes to.
struct AnyGateway: Sendable {
    struct Handler: Sendable {
        enum Body: Sendable {
            case sync(@Sendable (WsClient, UnsafeRawBufferPointer?) throws -> WsReply)
            case async(@Sendable (WsClient, [UInt8]?) async throws -> WsReply)
        }
        let guards: [any WsGuard.Type]
        let body: Body

        /// Runs either kind from a task (a sync handler queued behind async work, or guarded).
        func run(_ client: WsClient, _ payload: [UInt8]?) async throws -> WsReply {
            switch body {
            case .sync(let body): return try payload.withOptionalBytes { try body(client, $0) }
            case .async(let body): return try await body(client, payload)
            }
        }
    }

    let type: any WsGateway.Type
    let url: String
    let namespace: String
    let guards: [any WsGuard.Type]
    let handlers: [String: Handler]
    let hasConnectionHandler: Bool
    let hasDisconnectionHandler: Bool
    let hasBinaryHandler: Bool
    let connected: @Sendable (WsClient) async throws -> Void
    let disconnected: @Sendable (WsClient) async -> Void
    let binary: @Sendable (WsClient, [UInt8]) async throws -> Void

    /// Connections of this gateway wait for guards or onConnection before their messages run.
    var needsSetup: Bool { !guards.isEmpty || hasConnectionHandler }

    init<G: WsGateway>(_ instance: G) {
        let definition = G.gateway
        type = G.self
        url = definition.url
        namespace = definition.namespace
        guards = definition.guards
        handlers = definition.messageHandlers.mapValues { handler in
            switch handler.body {
            case .sync(let body):
                return Handler(guards: handler.guards, body: .sync { client, data in try body(instance, client, data) })
            case .async(let body):
                return Handler(guards: handler.guards, body: .async { client, data in try await body(instance, client, data) })
            }
        }
        hasConnectionHandler = definition.connectionHandler != nil
        hasDisconnectionHandler = definition.disconnectionHandler != nil
        hasBinaryHandler = definition.binaryHandler != nil
        let onConnection = definition.connectionHandler
        let onDisconnection = definition.disconnectionHandler
        let onBinary = definition.binaryHandler
        connected = { client in try await onConnection?(instance, client) }
        disconnected = { client in await onDisconnection?(instance, client) }
        binary = { client, bytes in try await onBinary?(instance, client, bytes) }
    }
}
