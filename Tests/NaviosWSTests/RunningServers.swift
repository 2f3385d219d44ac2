import NaviosDI
import Synchronization
import Testing
@testable import NaviosWS
@testable import NaviosWSCore

/// The task that runs each engine a test started: the tests run engines and applications the
/// way a service group does, in a task that `stop` cancels.
private let engineRuns = Mutex<[ObjectIdentifier: Task<Void, any Error>]>([:])

/// The backends the engine tests run on: io_uring only where it can be set up (see
/// `EngineTests.ioUringCasesRun`, which is skipped with the reason otherwise).
let testedBackends: [WsEngineConfiguration.Backend] =
    WsEngineConfiguration.Backend.ioUring.isAvailable ? [.epoll, .ioUring] : [.epoll]

func startEngine(_ backend: WsEngineConfiguration.Backend, _ handler: RecordingHandler,
                 configure: (inout WsEngineConfiguration) -> Void = { _ in }) async throws -> WsEngine {
    var configuration = WsEngineConfiguration()
    configuration.backend = backend
    configuration.loopThreads = 2
    configuration.shutdownDrain = .milliseconds(500)
    configure(&configuration)
    let engine = try WsEngine(configuration: configuration, handler: handler)
    let run = Task { try await engine.run() }
    engineRuns.withLock { $0[ObjectIdentifier(engine)] = run }
    _ = try await engine.listeningPort
    return engine
}

/// Cancels the task running the engine and waits for `run()` to return.
func stop(_ engine: WsEngine) async {
    guard let run = engineRuns.withLock({ $0.removeValue(forKey: ObjectIdentifier(engine)) }) else { return }
    run.cancel()
    _ = await run.result
}

extension WsEngine {
    /// The bound port of an engine that `startEngine` started.
    var port: Int { boundPort }
}

/// An application running in a task, as a service group runs it.
final class RunningApplication: Sendable {
    let app: NaviosApplication
    let port: Int
    private let run: Task<Void, any Error>

    init(_ module: any Module.Type) async throws {
        app = try await NaviosApplication.create(module)
        let app = app
        run = Task { try await app.run() }
        port = try await app.listeningPort
    }

    var service: WsService { app.service }

    /// Cancels the task running the application and waits for `run()` to return.
    func stop() async {
        run.cancel()
        _ = await run.result
    }
}

/// A configuration for test applications: any free port, and a short drain (test clients do
/// not always answer the close).
func testConfig(loopThreads: Int) -> WsConfig {
    var config = WsConfig(port: 0, loopThreads: loopThreads)
    config.shutdownDrain = .milliseconds(200)
    return config
}

/// Polls `condition` every 10 ms for up to 3 s: what the engine does on its own threads shows
/// after a while. The caller then checks the condition itself.
func pollUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<300 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
}
