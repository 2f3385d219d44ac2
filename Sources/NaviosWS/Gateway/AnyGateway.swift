import CoreMetrics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A gateway with its type erased, bound to its instance: what the runtime routes to.
/// A class: every message reaches its gateway through the client, and passing a reference
/// costs one retain where copying a struct of this size costs one per field.
final class AnyGateway: Sendable {
    /// A class: a message borrows its handler from the gateway, with no count per closure.
    final class Handler: Sendable {
        /// The arguments after the client: the payload's JSON (nil when the message had none),
        /// the `id` to acknowledge (nil: nothing is sent back), and the binary attachments that
        /// came with it (Socket.IO's; nil for most messages).
        typealias Inline = @Sendable (WsClient, UnsafeRawBufferPointer?, Int64?, WsAttachments?) throws -> Void
        typealias Queued = @Sendable (WsClient, [UInt8]?, Int64?, WsAttachments?) async throws -> Void

        /// The event's name, and its bytes for the lookup per message (see `handler(matching:)`).
        let name: String
        let nameBytes: [UInt8]
        let guards: [any WsGuard.Type]
        /// Whether its payload is the event's arguments as they came (``WsArguments``): it is
        /// handed the array of them, whatever their number.
        let takesArguments: Bool
        /// A synchronous handler's body, run where its message arrives (nil for async ones).
        let inline: Inline?
        /// Either kind, run from a task (a sync handler queued behind async work, or guarded).
        let queued: Queued

        /// The name's first eight bytes (zero-padded) in one word: a message's event is
        /// compared with each handler's in one comparison.
        let nameHead: UInt64
        /// Its duration histogram when metrics are on: set once by the runtime, before the
        /// engine starts, and only read after.
        nonisolated(unsafe) var timer: CoreMetrics.Recorder?

        init(name: String, guards: [any WsGuard.Type], takesArguments: Bool, inline: Inline?, queued: @escaping Queued) {
            self.name = name
            self.takesArguments = takesArguments
            nameBytes = Array(name.utf8)
            nameHead = nameBytes.withUnsafeBytes(Self.head)
            self.guards = guards
            self.inline = inline
            self.queued = queued
        }

        /// The first eight bytes of `name` as a little-endian word, zero-padded. Reads only
        /// `name`'s own bytes: a short name in two overlapping halves, shifted together.
        @inline(__always)
        static func head(of name: UnsafeRawBufferPointer) -> UInt64 {
            guard let base = name.baseAddress else { return 0 }
            let count = name.count
            if count >= 8 { return UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)) }
            if count >= 4 {
                let low = UInt64(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
                let high = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
                return low | high << UInt64((count - 4) * 8)
            }
            var word: UInt64 = 0
            for index in 0..<count { word |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << UInt64(index * 8) }
            return word
        }
    }

    let type: any WsGateway.Type
    /// The wire protocols the gateway's clients may speak.
    let protocols: [WsWireProtocol]
    let url: String
    let namespace: String
    let guards: [any WsGuard.Type]
    /// The gateway guards that bound a session's lifetime (``WsSessionGuard``).
    let sessionGuards: [any WsSessionGuard.Type]
    static let sessionRefreshEvent = "session_refresh"
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
    /// escapes), unretained: the gateway keeps its handlers for as long as it lives, and a
    /// message borrows one. A gateway has a handful of events, and comparing bytes costs less
    /// than making a String and hashing it.
    func handler(matching name: UnsafeRawBufferPointer) -> Unmanaged<Handler>? {
        if handlerList.count > 16 {
            return handlers[String(decoding: name, as: UTF8.self)].map(Unmanaged.passUnretained)
        }
        let head = Handler.head(of: name)
        for handler in handlerList where handler.nameHead == head && handler.nameBytes.count == name.count {
            // The first eight bytes matched: the rest byte by byte (names are short, and a call
            // to memcmp costs more than the loop).
            let matches = handler.nameBytes.withUnsafeBufferPointer { known in
                var index = 8
                while index < known.count && known[index] == name[index] { index += 1 }
                return index >= known.count
            }
            // Unretained: the gateway's handler list holds it for the runtime's lifetime.
            if matches { return Unmanaged.passUnretained(handler) }
        }
        return nil
    }

    init<G: WsGateway>(_ instance: G) {
        let definition = G.gateway
        type = G.self
        protocols = definition.protocols
        url = definition.url
        namespace = definition.namespace
        guards = definition.guards
        var handlers = definition.messageHandlers.mapValues { handler in
            let takesArguments = ObjectIdentifier(handler.payloadType) == ObjectIdentifier(WsArguments.self)
            switch handler.body {
            case .sync(let body):
                let inline: Handler.Inline = { client, data, ack, attachments in
                    try body(instance, client, data, ack, attachments)
                }
                return Handler(name: handler.event, guards: handler.guards, takesArguments: takesArguments, inline: inline,
                               queued: { client, data, ack, attachments in
                    try data.withOptionalBytes { try body(instance, client, $0, ack, attachments) }
                })
            case .async(let body):
                return Handler(name: handler.event, guards: handler.guards, takesArguments: takesArguments, inline: nil,
                               queued: { client, data, ack, attachments in
                    try await body(instance, client, data, ack, attachments)
                })
            }
        }
        // In a fixed order (by name): a dictionary's order changes from run to run, and with it
        // the cost of finding a handler.
        handlerList = ContiguousArray(handlers.values.sorted { $0.name < $1.name })
        // A gateway with session guards takes `session_refresh` (unless it handles it itself).
        // In the dictionary only: found after the list, so the message path pays nothing.
        sessionGuards = definition.guards.compactMap { $0 as? any WsSessionGuard.Type }
        if !sessionGuards.isEmpty, handlers[Self.sessionRefreshEvent] == nil {
            handlers[Self.sessionRefreshEvent] = Handler(
                name: Self.sessionRefreshEvent, guards: [], takesArguments: false, inline: nil,
                queued: { client, data, ack, _ in await client.runtime.refreshSession(client, data, ack) })
        }
        self.handlers = handlers
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
