/// Why a container could not produce a value. Every case carries the chain of what was being
/// built, outermost first — the module that listed it, then each type or token that injected
/// the next — so the message says where to look.
public enum DIError: Error, CustomStringConvertible {
    /// Nothing provides `token`: a token without a default factory that no module lists.
    case missingProvider(token: String, chain: [String])
    /// `cycle` starts and ends with the same name; `reachedFrom` is the path that led into it
    /// (empty when the cycle starts at what was asked for).
    case cycle(cycle: [String], reachedFrom: [String])
    /// A factory for `token` threw `underlying` (async factories: during `Container.create`).
    case factoryFailed(token: String, underlying: any Error, chain: [String])
    /// `token` has an async factory but no module lists it, so `Container.create` never
    /// awaited it and a synchronous `inject(...)` has no value to hand out.
    case asyncProviderNotAwaited(token: String, chain: [String])

    public var description: String {
        switch self {
        case .missingProvider(let token, let chain):
            "no provider for token '\(token)'\(Self.via(chain)); provide it in a module with .value or .factory"
        case .cycle(let cycle, let reachedFrom):
            "dependency cycle: \(cycle.joined(separator: " → "))"
                + (reachedFrom.isEmpty ? "" : " (reached from \(reachedFrom.joined(separator: " → ")))")
        case .factoryFailed(let token, let underlying, let chain):
            "factory for '\(token)' failed\(Self.via(chain)): \(underlying)"
        case .asyncProviderNotAwaited(let token, let chain):
            "token '\(token)' has an async factory but no module lists it, so Container.create did not await it"
                + "\(Self.via(chain)); list it with .token(...) in a module's providers"
        }
    }

    /// The chain in parentheses, left out when it would only repeat the name itself.
    private static func via(_ chain: [String]) -> String {
        chain.count > 1 ? " (\(chain.joined(separator: " → ")))" : ""
    }
}
