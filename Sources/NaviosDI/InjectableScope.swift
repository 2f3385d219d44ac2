/// How long an instance made by a ``Container`` lives.
public enum InjectableScope: Sendable, Hashable {
    /// One instance per container. Built by `Container.create` when a module lists it,
    /// otherwise on first use; every injection gets the same one.
    case singleton
    /// A new instance for every `inject(...)` and every `get(...)`.
    case transient
}
