/// A class a ``Container`` can build by itself: `init()` is its factory, and it takes what it
/// needs with `inject(_:)` in stored-property initialisers (or in `init()`).
///
/// ```swift
/// final class UserService: Injectable {
///     private let repo = inject(UserRepository.self)
///     init() {}
/// }
/// ```
///
/// Injectable types resolve without being listed in any module, as @navios/di resolves
/// `@Injectable` classes: they carry their own factory, so there is nothing a listing could
/// add but eagerness. Listing one with `.type(T.self)` makes a singleton eager: it is built
/// by `Container.create`, which then throws any problem in its dependencies at start-up
/// instead of at first use.
///
/// Sendable because a singleton is shared by every task that asks for it; that is also why
/// conforming classes must be `final` (or actors).
public protocol Injectable: AnyObject, Sendable {
    init()
    /// `.singleton` unless the type says otherwise.
    static var scope: InjectableScope { get }
}

extension Injectable {
    public static var scope: InjectableScope { .singleton }
}
