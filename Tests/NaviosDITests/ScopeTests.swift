// Singleton and transient scopes, and singletons under concurrent first use.
import Foundation
import NaviosDI
import Testing

final class SharedService: Injectable {
    init() { inject(constructions).increment() }
}

final class FreshService: Injectable {
    static var scope: InjectableScope { .transient }
    init() { inject(constructions).increment() }
}

final class TakesSharedTwice: Injectable {
    let first = inject(SharedService.self)
    let second = inject(SharedService.self)
    init() {}
}

final class TakesFreshTwice: Injectable {
    let first = inject(FreshService.self)
    let second = inject(FreshService.self)
    init() {}
}

/// Slow to build, so that concurrent first gets really overlap.
final class SlowSingleton: Injectable {
    init() {
        inject(constructions).increment()
        usleep(20_000)
    }
}

@Suite struct ScopeTests {
    @Test func singletonIsTheSameInstanceForEveryGetAndEveryInjection() async throws {
        let container = try await Container.create(EmptyModule.self)
        let taker = try container.get(TakesSharedTwice.self)
        let shared = try container.get(SharedService.self)
        #expect(taker.first === taker.second)
        #expect(taker.first === shared)
        #expect(try container.get(SharedService.self) === shared)
        #expect(try container.get(constructions).value == 1)
    }

    @Test func singletonsAreNotSharedBetweenContainers() async throws {
        let one = try await Container.create(EmptyModule.self)
        let two = try await Container.create(EmptyModule.self)
        #expect(try one.get(SharedService.self) !== two.get(SharedService.self))
    }

    @Test func transientIsANewInstanceForEveryGetAndEveryInjection() async throws {
        let container = try await Container.create(EmptyModule.self)
        let taker = try container.get(TakesFreshTwice.self)
        #expect(taker.first !== taker.second)
        let fresh = try container.get(FreshService.self)
        #expect(fresh !== taker.first && fresh !== taker.second)
        #expect(try container.get(FreshService.self) !== fresh)
        #expect(try container.get(constructions).value == 4)
    }

    @Test func concurrentGetsFrom100TasksBuildASingletonOnce() async throws {
        let container = try await Container.create(EmptyModule.self)
        let ids = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<100 {
                group.addTask { ObjectIdentifier(try container.get(SlowSingleton.self)) }
            }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(try container.get(constructions).value == 1)
    }

    @Test func concurrentGetsFrom100TasksBuild100Transients() async throws {
        let container = try await Container.create(EmptyModule.self)
        let instances = try await withThrowingTaskGroup(of: FreshService.self) { group in
            for _ in 0..<100 {
                group.addTask { try container.get(FreshService.self) }
            }
            return try await group.reduce(into: [FreshService]()) { $0.append($1) }
        }
        #expect(Set(instances.map(ObjectIdentifier.init)).count == 100)
        #expect(try container.get(constructions).value == 100)
    }
}
