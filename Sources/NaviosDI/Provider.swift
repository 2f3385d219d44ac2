/// One entry of a module's `providers`: how to make the value for a type or a token.
///
/// ```swift
/// static var providers: [Provider] { [
///     .type(UserService.self),                  // an Injectable class (its scope is its own)
///     .token(WsConfigToken),                    // a token with a default factory
///     .value(Greeting, "hello"),                // a ready value
///     .factory(Clock, scope: .transient) { SystemClock(zone: inject(ZoneToken)) },
///     .asyncFactory(AppConfigToken) { try await loadConfig() },
/// ] }
/// ```
///
/// A struct with static constructors rather than an enum, because each case is generic over
/// the value's type and an enum's cases cannot be.
public struct Provider: Sendable {
    /// How the value is made, with its type erased (the key's type guarantees it).
    enum Make: Sendable {
        case value(any Sendable)
        case sync(@Sendable () throws -> any Sendable)
        case async(@Sendable () async throws -> any Sendable)
        /// `.token(t)` for a token without a default factory: listed, but nothing makes it.
        case nothing
    }

    let key: ProviderKey
    let scope: InjectableScope
    let make: Make
    /// Whether `make` can throw. `init()` cannot; factories can, and a factory's error found
    /// inside `inject(...)` can only be reported from a resolver thread (see `Container`).
    let mayThrow: Bool

    /// An ``Injectable`` class, with the scope it declares. Listing a singleton makes
    /// `Container.create` build it; unlisted ones are built on first use.
    public static func type<T: Injectable>(_ type: T.Type) -> Provider {
        Provider(key: .type(type), scope: T.scope, make: .sync { T() }, mayThrow: false)
    }

    /// A token with its own default factory. A token without one is an error at
    /// `Container.create` unless another provider in the module tree supplies it.
    public static func token<T>(_ token: InjectionToken<T>) -> Provider {
        Provider.default(for: token) ?? Provider(key: .token(token), scope: .singleton, make: .nothing, mayThrow: false)
    }

    /// A ready value for a token.
    public static func value<T>(_ token: InjectionToken<T>, _ value: T) -> Provider {
        Provider(key: .token(token), scope: .singleton, make: .value(value), mayThrow: false)
    }

    /// A synchronous factory for a token; it may call `inject(...)`. Errors it throws become
    /// ``DIError/factoryFailed(token:underlying:chain:)``.
    public static func factory<T>(
        _ token: InjectionToken<T>, scope: InjectableScope = .singleton,
        _ make: @escaping @Sendable () throws -> T
    ) -> Provider {
        Provider(key: .token(token), scope: scope, make: .sync { try make() }, mayThrow: true)
    }

    /// An asynchronous factory for a token, awaited by `Container.create` (always a
    /// singleton: a sync `inject(...)` can only hand out a value that already exists). It
    /// cannot call `inject(...)`: it runs before anything is built.
    public static func asyncFactory<T>(
        _ token: InjectionToken<T>, _ make: @escaping @Sendable () async throws -> T
    ) -> Provider {
        Provider(key: .token(token), scope: .singleton, make: .async { try await make() }, mayThrow: true)
    }

    /// The provider a token brings itself, used when no module lists the token.
    static func `default`<T>(for token: InjectionToken<T>) -> Provider? {
        switch token.defaultFactory {
        case .sync(let make)?:
            Provider(key: .token(token), scope: .singleton, make: .sync { try make() }, mayThrow: true)
        case .async(let make)?:
            Provider(key: .token(token), scope: .singleton, make: .async { try await make() }, mayThrow: true)
        case nil:
            nil
        }
    }
}
