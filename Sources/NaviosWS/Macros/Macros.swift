// The macros of the spec's decorators (DESIGN §3). Each expands to a plain protocol
// conformance that can also be written by hand (see WsGateway.swift, Injectable.swift,
// Module.swift); the implementations are in the NaviosWSMacros plugin.
//
// @Injectable and @Module belong to NaviosDI's protocols but are declared here: the package
// has one macro plugin, and declaring them in NaviosDI would make every NaviosDI user build
// swift-syntax. NaviosDI is re-exported so that `import NaviosWS` is enough for what the
// expansions name; they name it with its module (`NaviosDI.Provider`, `NaviosDI.Module`), so
// that a user type called `Provider` or `Module` cannot capture them.
//
// What the macros generate goes into the type's body (member role); the extension role adds
// only the conformance. An extension is expanded at file scope, where names the body can use
// unqualified, such as a sibling nested type used as a payload, would not resolve.
@_exported import NaviosDI

/// Makes a class a ``WsGateway``: writes its `gateway` definition from the methods marked
/// `@OnConnection`, `@OnDisconnection` and `@OnMessage` in the class body, and
/// `@UseWsGuards` on the class and on those methods. The arguments are those of
/// ``WsGatewayDefinition/init(path:namespace:protocol:)``.
///
/// ```swift
/// @WebSocketGateway(path: "/ws", namespace: "/chat")
/// @Injectable
/// final class ChatGateway {
///     @OnMessage("chat:join")
///     func join(_ params: WsMessageParams<RoomRef>) { ... }
/// }
/// // adds to the class body
///     static let gateway = NaviosWS.WsGatewayDefinition<ChatGateway>(path: "/ws", namespace: "/chat")
///         .onMessage("chat:join", RoomRef.self) { gateway, params in gateway.join(params) }
/// // and
/// extension ChatGateway: NaviosWS.WsGateway {}
/// ```
///
/// A handler is called with only the effects it declares: a method that is not `async` gives
/// a sync closure, which runs inline on the connection's loop thread. Only methods in the
/// class body are seen (not those in extensions or inside `#if`). The gateway also needs an
/// `init()`: write it, or add `@Injectable`.
@attached(member, names: named(gateway))
@attached(extension, conformances: WsGateway)
public macro WebSocketGateway(path: String = "/", namespace: String = "/", protocols: [WsWireProtocol] = [.json]) =
    #externalMacro(module: "NaviosWSMacros", type: "WebSocketGatewayMacro")

/// Marks `func m(_ client: WsClient) [async] [throws]` as the gateway's connection handler:
/// `.onConnection { gateway, client in try await gateway.m(client) }`.
@attached(peer)
public macro OnConnection() = #externalMacro(module: "NaviosWSMacros", type: "OnConnectionMacro")

/// Marks `func m(_ client: WsClient) [async]` as the gateway's disconnection handler. It cannot
/// throw: the client is gone and nothing could receive the error.
@attached(peer)
public macro OnDisconnection() = #externalMacro(module: "NaviosWSMacros", type: "OnDisconnectionMacro")

/// Marks `func m(_ params: WsMessageParams<Payload>) [async] [throws] [-> Response]` as the
/// handler of the event named by a string literal:
/// `.onMessage("chat:join", Payload.self) { gateway, params in gateway.m(params) }`.
/// A returned value is the acknowledgement. The name must be a literal (hence `StaticString`);
/// for a name held in a variable, declare a typed event with `declareWsEvent`.
@attached(peer)
public macro OnMessage(_ event: StaticString) = #externalMacro(module: "NaviosWSMacros", type: "OnMessageMacro")

/// Marks a method as the handler of a typed event declared with `declareWsEvent`: the compiler
/// checks its parameter against the event's payload and its result against the response.
@attached(peer)
public macro OnMessage<Payload: Decodable & Sendable, Response: Encodable & Sendable>(_ event: WsEvent<Payload, Response>) =
    #externalMacro(module: "NaviosWSMacros", type: "OnMessageMacro")

/// Guards: on the `@WebSocketGateway` class, checked once at connect (`.guarded(by:)`); on an
/// `@OnMessage` method, checked for each of its messages (`guards:`). See ``WsGuard``.
@attached(peer)
public macro UseWsGuards(_ guards: any WsGuard.Type...) = #externalMacro(module: "NaviosWSMacros", type: "UseWsGuardsMacro")

/// Makes a final class (or an actor) ``Injectable``: adds the conformance, `static var scope`
/// when the scope is not `.singleton`, and `init() {}` when the class declares no `init()`.
@attached(member, names: named(init), named(scope))
@attached(extension, conformances: Injectable)
public macro Injectable(scope: InjectableScope = .singleton) =
    #externalMacro(module: "NaviosWSMacros", type: "InjectableMacro")

/// Makes a type a ``Module``. In `providers`, `X.self` is an injectable class (`.type(X.self)`),
/// a `Provider.value(...)`/`.factory(...)`/... call is kept as written, and anything else is
/// an ``InjectionToken`` (`.token(x)`). Both lists must be array literals.
@attached(member, names: named(providers), named(imports))
@attached(extension, conformances: Module)
public macro Module(providers: [Any] = [], imports: [any Module.Type] = []) =
    #externalMacro(module: "NaviosWSMacros", type: "ModuleMacro")

/// Makes a struct ``WsJSONCodable``: writes `init(wsJSON:)` and `encode(wsJSON:)` from its
/// stored properties, as a synthesized `Codable` sees them (property names as keys, optionals
/// that may be missing and are left out when `nil`, a `let` with an initial value not
/// decoded). The struct stays `Codable` too, which the gateway falls back on for anything the
/// generated reader declines, so clients get the same values and errors either way.
///
/// ```swift
/// @WsJSONCodable
/// struct ChatMessage: Codable, Sendable {
///     var room: String
///     var text: String
///     var replyTo: Int?
/// }
/// ```
///
/// A struct with its own `CodingKeys`, `init(from:)` or `encode(to:)`, or with generic
/// parameters, is refused: its JSON is not what the properties say.
@attached(extension, conformances: WsJSONCodable, names: named(init(wsJSON:)), named(encode(wsJSON:)))
public macro WsJSONCodable() = #externalMacro(module: "NaviosWSMacros", type: "WsJSONCodableMacro")
