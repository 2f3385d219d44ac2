// Helpers shared by the NaviosDI tests.
import Foundation
import NaviosDI

/// Counts constructions.
final class Counter: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A counter per container (a token singleton made by its own factory), so that tests
/// running in parallel never share a count: a type counts itself with
/// `inject(constructions).increment()`, a test reads `container.get(constructions).value`.
let constructions = InjectionToken<Counter>("constructions", factory: { Counter() })

/// A module with nothing listed, for tests that resolve unlisted types.
enum EmptyModule: Module {
    static var providers: [Provider] { [] }
}
