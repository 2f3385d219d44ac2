/// Builds and keeps the values of a module tree: the @navios/di container.
///
/// ```swift
/// let container = try await Container.create(AppModule.self)
/// let users = try container.get(UserService.self)
/// ```
///
/// ## What `create` does
/// 1. Flattens the module tree into one registry (see ``Module`` for precedence) and stores
///    `.value` providers; a token listed with `.token(t)` that nothing can make fails here.
/// 2. Awaits every async factory the tree lists, concurrently. One that throws makes `create`
///    throw ``DIError/factoryFailed(token:underlying:chain:)``; the rest are cancelled.
/// 3. Builds every singleton the tree lists (types and sync factories), as NestJS does at
///    bootstrap, so that a missing provider, a cycle or a failing factory anywhere below them
///    is thrown by `create`, at start-up, with the whole chain — not at the first request.
///
/// ## How errors inside `inject(...)` are thrown
/// `inject(...)` runs in property initialisers, which cannot throw, and when it finds a
/// missing provider or a cycle it has no value to return. Validating the graph before any
/// initialiser runs would need every type to declare its dependencies, which the hand-written
/// form (`let repo = inject(Repo.self)`) does not. So a construction that might fail inside
/// `inject(...)` runs on a resolver thread of its own: the error is recorded, the caller of
/// `create` or `get` wakes up and throws it, and the resolver thread stops where it was, for
/// good (Swift cannot unwind a property initialiser; see ``ResolverThread``). The price of a
/// failure is one parked thread and the half-built objects on it, so a failure is remembered
/// per requested key and asking again throws at once. The common cases — listed singletons at
/// `create`, and anything built for the first time by `get` — therefore *throw*; nothing is
/// left to crash.
///
/// A key that has been built successfully once, and whose dependencies are cached or equally
/// proven, is built again (transients) on the caller's thread with no thread hop. It can only
/// fail inside `inject(...)` if an initialiser takes a dependency it did not take the first
/// time and that one fails; there is then no thread to stop and no way to return, so that
/// case traps with the same message. Calling `inject(...)` with no construction under way is
/// a programmer error and traps (see `inject(_:)`).
///
/// ## Threads
/// Sendable: `get` may be called from any task or thread. Constructions are serialised per
/// container (one at a time; cached singletons are read without waiting for them), so a
/// singleton is built exactly once however many tasks ask for it, and a dependency cycle is
/// always found as a cycle rather than as two threads waiting on each other. `get` blocks its
/// thread while another thread builds; builds are short and happen mostly at start-up.
public final class Container: Sendable {
    let registry: Registry
    private let state = LockedState(ContainerState())

    private init(registry: Registry) {
        self.registry = registry
    }

    /// A ready container for `module` and everything it imports; see the type's documentation.
    /// The Injectable types the module tree lists, in the order first listed. Frameworks use
    /// it to find what they drive (the WebSocket module finds its gateways here).
    public var providedTypes: [any Injectable.Type] {
        registry.order.compactMap { $0.injectableType }
    }

    /// The tokens the module tree lists, in the order first listed (as `AnyObject`: cast to
    /// `InjectionToken<T>` to find those of a value type).
    public var listedTokens: [any AnyObject & Sendable] {
        registry.order.compactMap { $0.tokenObject }
    }

    public static func create(_ module: any Module.Type) async throws(DIError) -> Container {
        let container = Container(registry: Registry(root: module))
        try container.storeValues()
        try await container.awaitAsyncFactories()
        try await container.buildListedSingletons()
        return container
    }

    /// The instance of an ``Injectable`` type: the singleton, or a new one for `.transient`.
    /// The type need not be listed in a module.
    public func get<T: Injectable>(_ type: T.Type) throws(DIError) -> T {
        // Keys are typed, so the value under a type's key is always of that type.
        try resolve(.type(type), fallback: { .type(type) }) as! T
    }

    /// The value for a token: from a module's provider, else from the token's own factory.
    public func get<T>(_ token: InjectionToken<T>) throws(DIError) -> T {
        // Keys are typed, so the value under a token's key is always the token's type.
        try resolve(.token(token), fallback: { .default(for: token) }) as! T
    }

    // MARK: - Used by ResolutionRun

    func cachedSingleton(_ key: ProviderKey) -> (any Sendable)? {
        state.withLock { $0.singletons[key] }
    }

    /// A construction finished: keep a singleton, and remember what it took.
    func didBuild(_ provider: Provider, _ value: any Sendable, dependencies: [ContainerState.Dependency]) {
        state.withLock { state in
            if provider.scope == .singleton { state.singletons[provider.key] = value }
            if state.dependencies[provider.key] == nil { state.dependencies[provider.key] = dependencies }
        }
    }

    // MARK: - get

    private enum Next {
        case done(Result<any Sendable, DIError>)
        case build(proven: Bool)
    }

    private func resolve(_ key: ProviderKey, fallback: () -> Provider?) throws(DIError) -> any Sendable {
        // A get() from inside one of this container's constructions on this thread (an
        // initialiser that holds the container) is an injection; waiting would wait for itself.
        if let run = ResolutionRun.current, run.container === self, run.isOnCurrentThread {
            return run.resolveNested(key, fallback: fallback)
        }
        if let value = cachedSingleton(key) { return value }
        guard let provider = registry.provider(for: key) ?? fallback() else {
            throw .missingProvider(token: key.name, chain: [key.name])
        }
        switch provider.make {
        case .value(let value): return value
        case .nothing: throw .missingProvider(token: key.name, chain: [key.name])
        case .async: throw .asyncProviderNotAwaited(token: key.name, chain: [key.name])
        case .sync: break
        }

        let next = state.wait { state -> Next? in
            if let value = state.singletons[key] { return .done(.success(value)) }
            if let error = state.failures[key] { return .done(.failure(error)) }
            if state.constructing { return nil }
            state.constructing = true
            return .build(proven: state.isProven(key))
        }
        let proven: Bool
        switch next {
        case .done(let result): return try result.get()
        case .build(let isProven): proven = isProven
        }
        let (result, stopped) = proven
            ? (buildInline(provider, why: "an initialiser took a dependency it did not take when first built"), false)
            : buildOnResolverThread(provider)
        state.withLockWakingWaiters { state in
            state.constructing = false
            if stopped, case .failure(let error) = result { state.failures[key] = error }
        }
        return try result.get()
    }

    /// Builds on a resolver thread and waits for it. `stopped` tells whether the thread had to
    /// stop (an error inside `inject(...)`) rather than return.
    private func buildOnResolverThread(_ provider: Provider) -> (Result<any Sendable, DIError>, stopped: Bool) {
        let outcome = LockedState<(Result<any Sendable, DIError>, stopped: Bool)?>(nil)
        let started = ResolverThread.start { [self] in
            let run = ResolutionRun(container: self, mode: .guarded(report: { error in
                outcome.withLockWakingWaiters { $0 = (.failure(error), true) }
            }))
            let result = run.perform { run throws(DIError) in try run.constructTopLevel(provider, root: []) }
            outcome.withLockWakingWaiters { $0 = (result, false) }
        }
        guard started else {
            return (buildInline(provider, why: "no resolver thread could be started"), false)
        }
        return outcome.wait { $0 }
    }

    private func buildInline(_ provider: Provider, why: String) -> Result<any Sendable, DIError> {
        ResolutionRun(container: self, mode: .inline(why: why)).perform { run throws(DIError) in
            try run.constructTopLevel(provider, root: [])
        }
    }

    // MARK: - create

    /// Stores `.value` providers, and fails fast on listed tokens nothing can make, before
    /// any slow async factory runs.
    private func storeValues() throws(DIError) {
        for key in registry.order {
            guard let entry = registry.entry(for: key) else { continue }
            switch entry.provider.make {
            case .value(let value): state.withLock { $0.singletons[key] = value }
            case .nothing: throw .missingProvider(token: key.name, chain: entry.path + [key.name])
            case .sync, .async: continue
            }
        }
    }

    private func awaitAsyncFactories() async throws(DIError) {
        let pending = registry.order.compactMap { key -> (ProviderKey, [String], @Sendable () async throws -> any Sendable)? in
            guard let entry = registry.entry(for: key), case .async(let make) = entry.provider.make else { return nil }
            return (key, entry.path, make)
        }
        guard !pending.isEmpty else { return }
        let outcome = await withTaskGroup(of: Result<(ProviderKey, any Sendable), DIError>.self) { group in
            for (key, path, make) in pending {
                group.addTask {
                    do {
                        return .success((key, try await make()))
                    } catch {
                        return .failure(.factoryFailed(token: key.name, underlying: error, chain: path + [key.name]))
                    }
                }
            }
            var values: [(ProviderKey, any Sendable)] = []
            for await result in group {
                switch result {
                case .success(let value):
                    values.append(value)
                case .failure(let error):
                    group.cancelAll()
                    return Result<[(ProviderKey, any Sendable)], DIError>.failure(error)
                }
            }
            return .success(values)
        }
        let values = try outcome.get()
        state.withLock { state in
            for (key, value) in values { state.singletons[key] = value }
        }
    }

    /// Builds every listed singleton on one resolver thread (see the type's documentation).
    private func buildListedSingletons() async throws(DIError) {
        let listed = registry.order.compactMap { key -> Registry.Entry? in
            guard let entry = registry.entry(for: key), entry.provider.scope == .singleton,
                  case .sync = entry.provider.make else { return nil }
            return entry
        }
        guard !listed.isEmpty else { return }
        let build: @Sendable (ResolutionRun) throws(DIError) -> Void = { run in
            // A singleton built earlier as another's dependency is already cached.
            for entry in listed where run.container.cachedSingleton(entry.provider.key) == nil {
                _ = try run.constructTopLevel(entry.provider, root: entry.path)
            }
        }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, DIError>, Never>) in
            let started = ResolverThread.start { [self] in
                let run = ResolutionRun(container: self, mode: .guarded(report: { error in
                    continuation.resume(returning: .failure(error))
                }))
                continuation.resume(returning: run.perform(build))
            }
            if !started {
                let run = ResolutionRun(container: self, mode: .inline(why: "no resolver thread could be started"))
                continuation.resume(returning: run.perform(build))
            }
        }
        try result.get()
    }
}
