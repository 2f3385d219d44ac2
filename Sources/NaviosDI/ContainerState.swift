/// What a container learns as it runs, behind its lock.
struct ContainerState: Sendable {
    /// A dependency taken during a successful construction.
    struct Dependency: Sendable {
        let key: ProviderKey
        /// Whether making it could throw (a factory), were it not already cached.
        let mayThrow: Bool
    }

    var singletons: [ProviderKey: any Sendable] = [:]
    /// One construction at a time per container: a singleton is then built once without a
    /// per-key protocol, and two threads can never deadlock on each other's half-built
    /// singletons (a cycle across threads is found as a cycle within one). Constructions are
    /// short and mostly happen at start-up.
    var constructing = false
    /// The direct dependencies of each key, from its first successful construction.
    var dependencies: [ProviderKey: [Dependency]] = [:]
    /// Keys known to build without any error surfacing inside `inject(...)` (see `Container`).
    var proven: Set<ProviderKey> = []
    /// Errors that stopped a resolver thread, by the key that was asked for: asking again
    /// throws at once instead of stopping another thread.
    var failures: [ProviderKey: DIError] = [:]

    /// Whether building `key` now cannot hit an error inside `inject(...)`: it was built
    /// successfully before, and everything it took then is cached or equally proven (a
    /// factory that is not cached could throw this time).
    mutating func isProven(_ key: ProviderKey) -> Bool {
        if proven.contains(key) { return true }
        guard let taken = dependencies[key] else { return false }
        for dependency in taken where singletons[dependency.key] == nil {
            if dependency.mayThrow || !isProven(dependency.key) { return false }
        }
        proven.insert(key)
        return true
    }
}
