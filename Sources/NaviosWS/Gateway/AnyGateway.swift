#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A gateway with its type erased, bound to its instance: what the runtime routes to.
/// A class: every message reaches its gateway through the client, and passing a reference
/// costs one retain where copying a struct of this size costs one per field.
final class AnyGateway: Sendable {
    /// A class: a message takes its handler with one retain, not one per closure and array.
    final class Handler: Sendable {
        enum Body: Sendable {
            case sync(@Sendable (WsClient, UnsafeRawBufferPointer?) throws -> WsReply)
            case async(@Sendable (WsClient, [UInt8]?) async throws -> WsReply)
        }
        /// The event's name, and its bytes for the lookup per message (see `handler(matching:)`).
        let name: String
        let nameBytes: [UInt8]
        /// `{"event":"<name>","data":`, what its replies start with.
        let replyPrefix: [UInt8]
        let guards: [any WsGuard.Type]
        let body: Body

        init(name: String, guards: [any WsGuard.Type], body: Body) {
            self.name = name
            nameBytes = Array(name.utf8)
            replyPrefix = WsJSONWriter.envelopePrefix(event: name)
            self.guards = guards
            self.body = body
        }

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
    /// The same handlers in a list, for the lookup per message (see `handler(matching:)`).
    private let handlerList: ContiguousArray<Handler>
    let hasConnectionHandler: Bool
    let hasDisconnectionHandler: Bool
    let hasBinaryHandler: Bool
    let connected: @Sendable (WsClient) async throws -> Void
    let disconnected: @Sendable (WsClient) async -> Void
    let binary: @Sendable (WsClient, [UInt8]) async throws -> Void

    /// The handler of the event whose name is `name` (the bytes between the quotes, without
    /// escapes): a gateway has a handful of events, and comparing bytes costs less than making
    /// a String and hashing it.
    func handler(matching name: UnsafeRawBufferPointer) -> Handler? {
        if handlerList.count > 16 {
            return handlers[String(decoding: name, as: UTF8.self)]
        }
        guard let wanted = name.baseAddress else { return nil }
        for handler in handlerList where handler.nameBytes.count == name.count {
            if handler.nameBytes.withUnsafeBytes({ memcmp($0.baseAddress!, wanted, name.count) == 0 }) { return handler }
        }
        return nil
    }

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
                return Handler(name: handler.event, guards: handler.guards, body: .sync { client, data in try body(instance, client, data) })
            case .async(let body):
                return Handler(name: handler.event, guards: handler.guards, body: .async { client, data in try await body(instance, client, data) })
            }
        }
        handlerList = ContiguousArray(handlers.values)
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
