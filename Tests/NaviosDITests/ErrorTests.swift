// DIError: what is thrown, and that its message names the whole chain.
import NaviosDI
import Testing

let currency = InjectionToken<String>("currency")

final class PaymentService: Injectable {
    let currency = inject(NaviosDITests.currency)
    init() {}
}

final class CheckoutGateway: Injectable {
    let payments = inject(PaymentService.self)
    init() {}
}

enum ShopModule: Module {
    static var providers: [Provider] { [.type(CheckoutGateway.self)] }
}

final class CycleA: Injectable {
    let b = inject(CycleB.self)
    init() {}
}

final class CycleB: Injectable {
    let a = inject(CycleA.self)
    init() {}
}

enum CycleModule: Module {
    static var providers: [Provider] { [.type(CycleA.self)] }
}

final class CycleC: Injectable {
    let d = inject(CycleD.self)
    init() {}
}

final class CycleD: Injectable {
    static var scope: InjectableScope { .transient }
    let e = inject(CycleE.self)
    init() {}
}

final class CycleE: Injectable {
    let c = inject(CycleC.self)
    init() {}
}

final class LeadsIntoCycle: Injectable {
    let c = inject(CycleC.self)
    init() {}
}

struct ConfigUnavailable: Error {}

let remoteConfig = InjectionToken<String>("remoteConfig", asyncFactory: { throw ConfigUnavailable() })

enum BrokenConfigModule: Module {
    static var providers: [Provider] { [.value(currency, "EUR"), .token(remoteConfig)] }
}

let brokenSetting = InjectionToken<Int>("brokenSetting", factory: { throw ConfigUnavailable() })

final class NeedsBrokenSetting: Injectable {
    let setting = inject(brokenSetting)
    init() {}
}

enum BrokenSettingModule: Module {
    static var providers: [Provider] { [.type(NeedsBrokenSetting.self)] }
}

let flakyNumber = InjectionToken<Int>("flakyNumber")

enum FlakyModule: Module {
    static var providers: [Provider] { [.factory(flakyNumber, scope: .transient) { throw ConfigUnavailable() }] }
}

let neverAwaited = InjectionToken<String>("neverAwaited", asyncFactory: { "too late" })

final class NeedsNeverAwaited: Injectable {
    let value = inject(neverAwaited)
    init() {}
}

enum ListsBareTokenModule: Module {
    static var providers: [Provider] { [.token(currency)] }
}

@Suite struct ErrorTests {
    @Test func missingProviderIsThrownByCreateNamingTheWholeChain() async {
        let error = await #expect(throws: DIError.self) { try await Container.create(ShopModule.self) }
        #expect(error?.description == """
            no provider for token 'currency' (ShopModule → CheckoutGateway → PaymentService → currency); \
            provide it in a module with .value or .factory
            """)
        guard case .missingProvider(let token, let chain)? = error else { return }
        #expect(token == "currency")
        #expect(chain == ["ShopModule", "CheckoutGateway", "PaymentService", "currency"])
    }

    @Test func missingProviderIsThrownByGetEveryTimeAndTheContainerStillWorks() async throws {
        let container = try await Container.create(EmptyModule.self)
        for _ in 0..<2 {
            let error = #expect(throws: DIError.self) { try container.get(CheckoutGateway.self) }
            #expect(error?.description.hasPrefix(
                "no provider for token 'currency' (CheckoutGateway → PaymentService → currency)") == true)
        }
        #expect(throws: DIError.self) { try container.get(currency) }
        _ = try container.get(SharedService.self)
    }

    @Test func twoTypeCycleIsThrownByCreate() async {
        let error = await #expect(throws: DIError.self) { try await Container.create(CycleModule.self) }
        #expect(error?.description == "dependency cycle: CycleA → CycleB → CycleA (reached from CycleModule)")
    }

    @Test func threeTypeCycleIsThrownByGet() async throws {
        let container = try await Container.create(EmptyModule.self)
        let error = #expect(throws: DIError.self) { try container.get(CycleC.self) }
        #expect(error?.description == "dependency cycle: CycleC → CycleD → CycleE → CycleC")
        let entered = #expect(throws: DIError.self) { try container.get(LeadsIntoCycle.self) }
        #expect(entered?.description
            == "dependency cycle: CycleC → CycleD → CycleE → CycleC (reached from LeadsIntoCycle)")
    }

    @Test func failingAsyncFactoryMakesCreateThrowFactoryFailed() async {
        let error = await #expect(throws: DIError.self) { try await Container.create(BrokenConfigModule.self) }
        guard case .factoryFailed(let token, let underlying, let chain)? = error else {
            Issue.record("expected factoryFailed, got \(String(describing: error))")
            return
        }
        #expect(token == "remoteConfig")
        #expect(underlying is ConfigUnavailable)
        #expect(chain == ["BrokenConfigModule", "remoteConfig"])
        #expect(error?.description == "factory for 'remoteConfig' failed (BrokenConfigModule → remoteConfig): ConfigUnavailable()")
    }

    @Test func failingSyncFactoryInsideInjectIsThrownByCreate() async {
        let error = await #expect(throws: DIError.self) { try await Container.create(BrokenSettingModule.self) }
        #expect(error?.description
            == "factory for 'brokenSetting' failed (BrokenSettingModule → NeedsBrokenSetting → brokenSetting): ConfigUnavailable()")
    }

    @Test func failingFactoryAskedForDirectlyThrowsEveryTime() async throws {
        let container = try await Container.create(FlakyModule.self)
        for _ in 0..<3 {
            let error = #expect(throws: DIError.self) { try container.get(flakyNumber) }
            #expect(error?.description == "factory for 'flakyNumber' failed: ConfigUnavailable()")
        }
    }

    @Test func asyncTokenThatNoModuleListsIsReported() async throws {
        let container = try await Container.create(EmptyModule.self)
        let error = #expect(throws: DIError.self) { try container.get(NeedsNeverAwaited.self) }
        guard case .asyncProviderNotAwaited(let token, let chain)? = error else {
            Issue.record("expected asyncProviderNotAwaited, got \(String(describing: error))")
            return
        }
        #expect(token == "neverAwaited")
        #expect(chain == ["NeedsNeverAwaited", "neverAwaited"])
    }

    @Test func tokenListedWithoutAnythingToMakeItFailsCreate() async {
        let error = await #expect(throws: DIError.self) { try await Container.create(ListsBareTokenModule.self) }
        guard case .missingProvider(let token, let chain)? = error else {
            Issue.record("expected missingProvider, got \(String(describing: error))")
            return
        }
        #expect(token == "currency")
        #expect(chain == ["ListsBareTokenModule", "currency"])
    }
}
