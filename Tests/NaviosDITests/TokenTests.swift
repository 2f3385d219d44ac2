// Tokens: values, factories (sync, transient, async), default factories, identity.
import NaviosDI
import Testing

let greeting = InjectionToken<String>("greeting")
let shout = InjectionToken<String>("shout")
let ticket = InjectionToken<Int>("ticket")
let remoteSetting = InjectionToken<String>("remoteSetting", asyncFactory: {
    try await Task.sleep(for: .milliseconds(10))
    return "from far away"
})
let secondRemoteSetting = InjectionToken<Int>("secondRemoteSetting")
let builtIn = InjectionToken<[Int]>("builtIn", factory: { [1, 2, 3] })

/// Every injection of `ticket` (a transient factory) takes the next number.
final class TicketMachine: Sendable {
    private let counter = Counter()
    func next() -> Int {
        counter.increment()
        return counter.value
    }
}
let ticketMachine = InjectionToken<TicketMachine>("ticketMachine", factory: { TicketMachine() })

final class NeedsRemoteSettings: Injectable {
    let setting = inject(remoteSetting)
    let number = inject(secondRemoteSetting)
    init() {}
}

enum TokenModule: Module {
    static var providers: [Provider] { [
        .value(greeting, "hello"),
        .factory(shout) {
            inject(constructions).increment()
            return inject(greeting).uppercased()
        },
        .factory(ticket, scope: .transient) { inject(ticketMachine).next() },
        .token(remoteSetting),
        .asyncFactory(secondRemoteSetting) { 42 },
        .type(NeedsRemoteSettings.self),
    ] }
}

@Suite struct TokenTests {
    @Test func valueProviderGivesItsValue() async throws {
        let container = try await Container.create(TokenModule.self)
        #expect(try container.get(greeting) == "hello")
    }

    @Test func factoryMayInjectAndIsASingletonByDefault() async throws {
        let container = try await Container.create(TokenModule.self)
        #expect(try container.get(shout) == "HELLO")
        #expect(try container.get(shout) == "HELLO")
        #expect(try container.get(constructions).value == 1)
    }

    @Test func transientFactoryRunsForEveryGet() async throws {
        let container = try await Container.create(TokenModule.self)
        #expect(try [container.get(ticket), container.get(ticket), container.get(ticket)] == [1, 2, 3])
    }

    @Test func asyncFactoriesAreAwaitedByCreateAndInjectedSynchronously() async throws {
        let container = try await Container.create(TokenModule.self)
        let needs = try container.get(NeedsRemoteSettings.self)
        #expect(needs.setting == "from far away")
        #expect(needs.number == 42)
        #expect(try container.get(remoteSetting) == "from far away")
    }

    @Test func tokenWithADefaultFactoryResolvesWithoutBeingListed() async throws {
        let container = try await Container.create(EmptyModule.self)
        #expect(try container.get(builtIn) == [1, 2, 3])
    }

    @Test func tokensWithTheSameNameAreStillDistinct() async throws {
        let first = InjectionToken<String>("twin")
        let second = InjectionToken<String>("twin")
        #expect(first != second)
        #expect(Set([first, second, first]).count == 2)

        enum TwinModule: Module {
            static let first = InjectionToken<String>("twin")
            static let second = InjectionToken<String>("twin")
            static var providers: [Provider] { [.value(first, "one"), .value(second, "two")] }
        }
        let container = try await Container.create(TwinModule.self)
        #expect(try container.get(TwinModule.first) == "one")
        #expect(try container.get(TwinModule.second) == "two")
    }
}
