/// What a container looks things up by: an ``Injectable`` type or an ``InjectionToken``.
///
/// Equality is identity (the metatype, or the token object), never the name. The name is
/// computed only when an error needs it, so building a key on every `inject(...)` costs no
/// allocation.
struct ProviderKey: Hashable, Sendable {
    private enum Subject: Sendable {
        case type(any Injectable.Type)
        // Holding the token keeps it alive while a container refers to it, so its address
        // (the id) cannot be reused by a later token.
        case token(name: String, anchor: any AnyObject & Sendable)
    }

    private let id: ObjectIdentifier
    private let subject: Subject

    static func type<T: Injectable>(_ type: T.Type) -> ProviderKey {
        ProviderKey(id: ObjectIdentifier(type), subject: .type(type))
    }

    static func token<T>(_ token: InjectionToken<T>) -> ProviderKey {
        ProviderKey(id: ObjectIdentifier(token), subject: .token(name: token.name, anchor: token))
    }

    /// The type's name or the token's name, as error messages show it.
    var name: String {
        switch subject {
        case .type(let type): String(describing: type)
        case .token(let name, _): name
        }
    }

    /// The token object this key names, or nil for a type.
    var tokenObject: (any AnyObject & Sendable)? {
        if case .token(_, let anchor) = subject { return anchor }
        return nil
    }

    /// The Injectable type this key names, or nil for a token.
    var injectableType: (any Injectable.Type)? {
        if case .type(let type) = subject { return type }
        return nil
    }

    static func == (a: ProviderKey, b: ProviderKey) -> Bool { a.id == b.id }
    func hash(into hasher: inout Hasher) { hasher.combine(id) }
}
