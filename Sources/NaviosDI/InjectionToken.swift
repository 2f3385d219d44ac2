/// A key for something that is not an ``Injectable`` class — a configuration struct, a
/// protocol existential, a string — with the type of the value it stands for.
///
/// Tokens are compared by identity: two tokens made with the same name are two different
/// tokens, so libraries cannot collide by choosing the same name. The name is only for
/// error messages.
///
/// A token may carry a default factory, so that the code defining it (for example
/// `provideWsService(config)`) also defines how to make its value:
/// - a sync `factory` runs when the token is first injected (it may call `inject(...)`),
///   and works without the token being listed in a module;
/// - an `asyncFactory` is awaited by `Container.create`, so the token must be listed in a
///   module (`.token(t)`) for the container to know to await it;
/// - a token without a factory must be provided by a module with `.value` or `.factory`.
public final class InjectionToken<T: Sendable>: Sendable, Hashable, CustomStringConvertible {
    /// The factory a token brings with it.
    enum DefaultFactory: Sendable {
        case sync(@Sendable () throws -> T)
        case async(@Sendable () async throws -> T)
    }

    public let name: String
    let defaultFactory: DefaultFactory?

    /// A token that a module must provide with `.value` or `.factory`.
    public init(_ name: String) {
        self.name = name
        self.defaultFactory = nil
    }

    /// A token whose value is made by `factory` on first injection (once: tokens are singletons).
    public init(_ name: String, factory: @escaping @Sendable () throws -> T) {
        self.name = name
        self.defaultFactory = .sync(factory)
    }

    /// A token whose value is made by `asyncFactory`, awaited by `Container.create` before the
    /// container is returned; list it in a module with `.token(t)`.
    public init(_ name: String, asyncFactory: @escaping @Sendable () async throws -> T) {
        self.name = name
        self.defaultFactory = .async(asyncFactory)
    }

    public static func == (a: InjectionToken, b: InjectionToken) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    public var description: String { "InjectionToken<\(T.self)>(\(name))" }
}
