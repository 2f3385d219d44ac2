#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One synchronous construction by a container — a `get`, or `Container.create`'s eager
/// singletons — and the context `inject(...)` finds while it runs.
///
/// Bound in a `@TaskLocal`, which Swift keeps in a thread-local when the thread runs no task
/// (a resolver thread), so `inject(...)` works the same on both. A run belongs to the thread
/// that started it: constructions are synchronous, and `inject(...)` checks the thread so
/// that a `Task` started inside an initialiser (which inherits task-locals) cannot use a run
/// from elsewhere.
final class ResolutionRun: @unchecked Sendable {
    // @unchecked: every mutable field is used only on `thread`, which `inject(...)` checks.

    @TaskLocal static var current: ResolutionRun?

    enum Mode {
        /// On a resolver thread: an error inside `inject(...)` is reported here and the
        /// thread stops.
        case guarded(report: @Sendable (DIError) -> Void)
        /// On the caller's thread (a key proven not to fail inside `inject(...)`, or no thread
        /// could be started); should something fail inside `inject(...)` anyway, there is no
        /// way to return and no one to report to, so it traps, saying `why` it was inline.
        case inline(why: String)
    }

    let container: Container
    private let mode: Mode
    private let thread = pthread_self()
    /// Modules leading to the current top-level construction (empty for `get`).
    private var root: [String] = []
    /// What is being built, outermost first: the chain of error messages and cycle checks.
    private var chain: [ProviderKey] = []
    /// What each open construction has taken so far, parallel to `chain`.
    private var taken: [[ContainerState.Dependency]] = []

    /// Must be called on the thread that will run it.
    init(container: Container, mode: Mode) {
        self.container = container
        self.mode = mode
    }

    var isOnCurrentThread: Bool { pthread_equal(thread, pthread_self()) != 0 }

    /// The innermost Injectable type whose construction is running.
    var typeBeingBuilt: (any Injectable.Type)? {
        chain.last(where: { $0.injectableType != nil })?.injectableType
    }

    /// Runs `body` with this run as the current resolution context.
    func perform<R>(_ body: (ResolutionRun) throws(DIError) -> R) -> Result<R, DIError> {
        ResolutionRun.$current.withValue(self) { Result { () throws(DIError) -> R in try body(self) } }
    }

    /// Builds what `get` asked for (or one of `create`'s eager singletons). Its own factory's
    /// error is thrown normally; errors deeper down arrive through `fail`.
    func constructTopLevel(_ provider: Provider, root: [String]) throws(DIError) -> any Sendable {
        self.root = root
        switch provider.make {
        case .value(let value):
            return value
        case .nothing:
            throw .missingProvider(token: provider.key.name, chain: root + [provider.key.name])
        case .async:
            throw .asyncProviderNotAwaited(token: provider.key.name, chain: root + [provider.key.name])
        case .sync(let make):
            return try build(provider, make).get()
        }
    }

    /// What `inject(...)` does: the value for `key`, from the cache or built now. Never
    /// returns without one: errors go to `fail`.
    func resolveNested(_ key: ProviderKey, fallback: () -> Provider?) -> any Sendable {
        precondition(!taken.isEmpty, "NaviosDI: inject() ran outside a construction")
        if let value = container.cachedSingleton(key) {
            taken[taken.count - 1].append(.init(key: key, mayThrow: false))
            return value
        }
        if let start = chain.firstIndex(of: key) {
            fail(.cycle(cycle: names(chain[start...]) + [key.name], reachedFrom: root + names(chain[..<start])))
        }
        guard let provider = container.registry.provider(for: key) ?? fallback() else {
            fail(.missingProvider(token: key.name, chain: root + names(chain[...]) + [key.name]))
        }
        taken[taken.count - 1].append(.init(key: key, mayThrow: provider.mayThrow))
        switch provider.make {
        case .value(let value):
            return value
        case .nothing:
            fail(.missingProvider(token: key.name, chain: root + names(chain[...]) + [key.name]))
        case .async:
            fail(.asyncProviderNotAwaited(token: key.name, chain: root + names(chain[...]) + [key.name]))
        case .sync(let make):
            switch build(provider, make) {
            case .success(let value): return value
            case .failure(let error): fail(error)
            }
        }
    }

    /// Runs a provider's factory (an `init()` or a token factory) with `key` on the chain,
    /// then caches it if it is a singleton and remembers what it took.
    private func build(_ provider: Provider, _ make: @Sendable () throws -> any Sendable) -> Result<any Sendable, DIError> {
        chain.append(provider.key)
        taken.append([])
        let result: Result<any Sendable, DIError>
        do {
            result = .success(try make())
        } catch {
            result = .failure(.factoryFailed(token: provider.key.name, underlying: error, chain: root + names(chain[...])))
        }
        chain.removeLast()
        let dependencies = taken.removeLast()
        if case .success(let value) = result {
            container.didBuild(provider, value, dependencies: dependencies)
        }
        return result
    }

    /// An error found inside `inject(...)`, which cannot throw and has no value to return.
    private func fail(_ error: DIError) -> Never {
        switch mode {
        case .guarded(let report):
            report(error)
            ResolverThread.stop()
        case .inline(let why):
            fatalError("NaviosDI: \(error)\n(found inside inject() on the caller's thread, where it cannot be thrown: \(why))")
        }
    }

    private func names(_ keys: ArraySlice<ProviderKey>) -> [String] { keys.map(\.name) }
}
