/// The providers of a module tree, flattened once by `Container.create` and never changed
/// after, so lookups need no lock.
struct Registry: Sendable {
    struct Entry: Sendable {
        let provider: Provider
        /// The modules from the root to the one that lists the provider, for error chains.
        let path: [String]
    }

    private var entries: [ProviderKey: Entry] = [:]
    /// Keys in the order they were first listed, so eager construction is predictable.
    private(set) var order: [ProviderKey] = []

    init(root: any Module.Type) {
        var visited: Set<ObjectIdentifier> = []
        add(root, path: [String(describing: root)], visited: &visited)
    }

    func entry(for key: ProviderKey) -> Entry? { entries[key] }

    func provider(for key: ProviderKey) -> Provider? { entries[key]?.provider }

    /// Imports first, then the module's own providers, so that a later registration replaces
    /// an earlier one and a module overrides what it imports. A module reached twice (a
    /// diamond, or an import cycle) is added once.
    private mutating func add(_ module: any Module.Type, path: [String], visited: inout Set<ObjectIdentifier>) {
        guard visited.insert(ObjectIdentifier(module)).inserted else { return }
        for imported in module.imports {
            add(imported, path: path + [String(describing: imported)], visited: &visited)
        }
        for provider in module.providers {
            if case .nothing = provider.make, entries[provider.key] != nil {
                continue  // `.token(t)` without a factory adds nothing to what provides t already
            }
            if entries.updateValue(Entry(provider: provider, path: path), forKey: provider.key) == nil {
                order.append(provider.key)
            }
        }
    }
}
