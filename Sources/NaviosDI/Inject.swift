// `inject(...)`: how an ``Injectable`` class (or a provider's factory) takes its
// dependencies, synchronously, in stored-property initialisers:
//
// ```swift
// final class ChatGateway: Injectable {
//     private let users = inject(UserService.self)
//     private let config = inject(WsConfigToken)
//     init() {}
// }
// ```
//
// It works only while a ``Container`` is building something — in the stored-property
// initialisers and `init()` of the type being built, and in provider factories — because
// that is when a container is in context (a `@TaskLocal`, see `ResolutionRun`). Anywhere
// else (a method, a `Task` started by an initialiser, an async factory) there is no
// container to ask: that is a programmer error and traps with a message naming the type.
//
// It cannot throw. A missing provider, a cycle or a failing factory found here is thrown by
// the `Container.create` or `Container.get` that started the construction, with the whole
// chain; `Container` explains how.

/// The instance of `type` from the container that is building the caller.
public func inject<T: Injectable>(_ type: T.Type) -> T {
    let run = currentRun(for: String(describing: type))
    // Keys are typed, so the value under a type's key is always of that type.
    return run.resolveNested(.type(type), fallback: { .type(type) }) as! T
}

/// The value of `token` from the container that is building the caller.
public func inject<T>(_ token: InjectionToken<T>) -> T {
    let run = currentRun(for: "token '\(token.name)'")
    // Keys are typed, so the value under a token's key is always the token's type.
    return run.resolveNested(.token(token), fallback: { .default(for: token) }) as! T
}

private func currentRun(for what: @autoclosure () -> String) -> ResolutionRun {
    guard let run = ResolutionRun.current else {
        fatalError("""
            NaviosDI: inject(\(what())) was called with no container building anything. inject() only \
            works during resolution: in stored-property initialisers, init() of a type a Container is \
            building, or a provider's sync factory. Elsewhere, keep the value in a property, or use \
            container.get(...).
            """)
    }
    guard run.isOnCurrentThread else {
        fatalError("""
            NaviosDI: inject(\(what())) was called on a different thread from the construction it belongs to \
            (from a Task or thread started by an initialiser?). inject() only works synchronously, \
            during resolution.
            """)
    }
    return run
}

/// The Injectable type whose construction is running on this thread, or nil outside one.
///
/// For providers whose value depends on who asks: the WebSocket module's
/// `inject(WsServer.self)` hands each gateway a server scoped to that gateway's namespace.
public func injectionTarget() -> (any Injectable.Type)? {
    guard let run = ResolutionRun.current, run.isOnCurrentThread else { return nil }
    return run.typeBeingBuilt
}

/// The container building the caller, for providers that resolve other values themselves.
public func injectionContainer() -> Container? {
    guard let run = ResolutionRun.current, run.isOnCurrentThread else { return nil }
    return run.container
}
