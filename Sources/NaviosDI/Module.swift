/// A group of providers, and the modules whose providers it can see.
///
/// ```swift
/// final class AppModule: Module {
///     static var imports: [any Module.Type] { [UsersModule.self] }
///     static var providers: [Provider] { [.token(WsConfigToken), .type(ChatGateway.self)] }
/// }
/// ```
///
/// Imports are transitive: a container made from `AppModule` sees the providers of every
/// module reachable through `imports`, each module counted once however often it is
/// imported. When two modules provide the same token, a module's own providers win over
/// those of its imports (so an application can override what a library module provides),
/// and among imports the later one wins.
public protocol Module {
    static var providers: [Provider] { get }
    static var imports: [any Module.Type] { get }
}

extension Module {
    public static var imports: [any Module.Type] { [] }
}
