// inject() in stored-property initialisers and init(), and outside any construction.
import NaviosDI
import Testing

let innermostName = InjectionToken<String>("innermostName")

final class Level3: Injectable {
    let name = inject(innermostName)
    init() {}
}

final class Level2: Injectable {
    let level3 = inject(Level3.self)
    init() {}
}

final class Level1: Injectable {
    let level2 = inject(Level2.self)
    let alsoLevel3 = inject(Level3.self)
    init() {}
}

/// Injects in init() rather than in a property initialiser.
final class InjectsInInit: Injectable {
    let level3: Level3
    init() { level3 = inject(Level3.self) }
}

let neverProvided = InjectionToken<String>("neverProvided")

/// Takes a dependency only from its second construction on, so that build, unlike the first,
/// runs on the caller's thread and fails there.
final class ChangesItsMind: Injectable {
    static var scope: InjectableScope { .transient }
    init() {
        let counter = inject(constructions)
        if counter.value > 0 { _ = inject(neverProvided) }
        counter.increment()
    }
}

enum NamedInnermostModule: Module {
    static var providers: [Provider] { [.value(innermostName, "deep")] }
}

@Suite struct InjectTests {
    @Test func injectWorksInStoredPropertyInitialisersThreeLevelsDeep() async throws {
        let container = try await Container.create(NamedInnermostModule.self)
        let level1 = try container.get(Level1.self)
        #expect(level1.level2.level3.name == "deep")
        #expect(level1.level2.level3 === level1.alsoLevel3)
        #expect(try container.get(Level2.self) === level1.level2)
    }

    @Test func injectWorksInInit() async throws {
        let container = try await Container.create(NamedInnermostModule.self)
        #expect(try container.get(InjectsInInit.self).level3 === container.get(Level3.self))
    }

    @Test func injectWithNoContainerBuildingTrapsNamingTheType() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = inject(Level3.self)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("inject(Level3) was called with no container building anything"))
        #expect(stderr.contains("inject() only works during resolution"))
    }

    @Test func dependencyFirstTakenOnARebuildTrapsWithTheChain() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let container = try await Container.create(EmptyModule.self)
            _ = try container.get(ChangesItsMind.self)
            _ = try container.get(ChangesItsMind.self)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("no provider for token 'neverProvided' (ChangesItsMind → neverProvided)"))
        #expect(stderr.contains("a dependency it did not take when first built"))
    }
}
