// Modules: transitive imports, overriding, eager singletons.
import NaviosDI
import Testing

let leafValue = InjectionToken<String>("leafValue")
let middleValue = InjectionToken<String>("middleValue")
let overridable = InjectionToken<String>("overridable")

enum LeafModule: Module {
    static var providers: [Provider] { [.value(leafValue, "leaf"), .value(overridable, "library default")] }
}

enum MiddleModule: Module {
    static var imports: [any Module.Type] { [LeafModule.self] }
    static var providers: [Provider] { [.factory(middleValue) { "middle over " + inject(leafValue) }] }
}

enum RootModule: Module {
    static var imports: [any Module.Type] { [MiddleModule.self, LeafModule.self] }
    static var providers: [Provider] { [.value(overridable, "app's own"), .type(EagerService.self)] }
}

final class EagerService: Injectable {
    let middle = inject(middleValue)
    init() { inject(constructions).increment() }
}

final class LazyService: Injectable {
    init() { inject(constructions).increment() }
}

@Suite struct ModuleTests {
    @Test func providersOfImportedModulesAreVisibleTransitively() async throws {
        let container = try await Container.create(RootModule.self)
        #expect(try container.get(leafValue) == "leaf")
        #expect(try container.get(EagerService.self).middle == "middle over leaf")
    }

    @Test func aModuleOverridesWhatItImports() async throws {
        let container = try await Container.create(RootModule.self)
        #expect(try container.get(overridable) == "app's own")
        let library = try await Container.create(LeafModule.self)
        #expect(try library.get(overridable) == "library default")
    }

    @Test func listedSingletonsAreBuiltByCreate() async throws {
        let container = try await Container.create(RootModule.self)
        #expect(try container.get(constructions).value == 1)
        _ = try container.get(EagerService.self)
        #expect(try container.get(constructions).value == 1)
    }

    @Test func unlistedSingletonsAreBuiltOnFirstGet() async throws {
        let container = try await Container.create(EmptyModule.self)
        #expect(try container.get(constructions).value == 0)
        _ = try container.get(LazyService.self)
        _ = try container.get(LazyService.self)
        #expect(try container.get(constructions).value == 1)
    }
}
