import Logging
import NaviosDI
import ServiceLifecycle
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import NaviosWS
@testable import NaviosWSCore

/// A service that fails when told to: its group then cancels the rest.
private struct FailingService: Service {
    struct Failure: Error {}
    let told: AsyncStream<Void>
    let tell: AsyncStream<Void>.Continuation
    init() { (told, tell) = AsyncStream<Void>.makeStream() }
    func run() async throws {
        for await _ in told { break }
        throw Failure()
    }
    func fail() { tell.yield() }
}

/// Sends `count` messages of `size` bytes when asked with the text "burst".
private final class BurstHandler: WsEngineHandler {
    let count: Int
    let size: Int
    init(count: Int, size: Int) {
        self.count = count
        self.size = size
    }
    func onText(_ connection: borrowing WsConnection, _ text: UnsafeRawBufferPointer) {
        guard String(decoding: text, as: UTF8.self) == "burst" else { return }
        for index in 0..<count {
            try? connection.send(text: "\(index):" + String(repeating: "x", count: size))
        }
    }
}

/// Whether `task` finishes within `limit`: its end is waited for (polled), never slept past.
private func finishes<T>(_ task: Task<T, any Error>, within limit: Duration) async -> Bool {
    let done = Mutex(false)
    let watcher = Task {
        _ = await task.result
        done.withLock { $0 = true }
    }
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if done.withLock({ $0 }) { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    watcher.cancel()
    return done.withLock { $0 }
}

final class LifecycleProbeGateway: WsGateway {
    init() {}
    static let gateway = WsGatewayDefinition<LifecycleProbeGateway>(path: "/life")
        .onMessage("ping", WsNoResponse.self) { _, _ in "pong" }
}

final class LifecycleProbeModule: Module {
    static var providers: [Provider] { [.token(provideWsService(testConfig(loopThreads: 2))), .type(LifecycleProbeGateway.self)] }
}

/// `run()` is the one lifecycle, as swift-service-lifecycle means it: it returns when its group
/// shuts down gracefully, when its task is cancelled, and when another service of its group fails.
@Suite(.serialized) struct LifecycleTests {
    let logger = Logger(label: "lifecycle-tests")

    @Test func anEngineStopsWhenAnotherServiceOfItsGroupFails() async throws {
        var configuration = WsEngineConfiguration()
        configuration.shutdownDrain = .milliseconds(500)
        let handler = RecordingHandler()
        let engine = try WsEngine(configuration: configuration, handler: handler)
        let failing = FailingService()
        let group = ServiceGroup(services: [engine, failing], logger: logger)
        let run = Task { try await group.run() }
        let client = try TestClient(port: try await engine.listeningPort)
        try await handler.wait("open") { $0.opened.count == 1 }
        failing.fail()
        #expect(await finishes(run, within: .seconds(2)))
        await #expect(throws: FailingService.Failure.self) { try await run.value }
        #expect(try client.receive().closeCode == 1001)
    }

    @Test func anApplicationStopsWhenAnotherServiceOfItsGroupFails() async throws {
        let app = try await NaviosApplication.create(LifecycleProbeModule.self)
        let failing = FailingService()
        let group = ServiceGroup(services: [app, failing], logger: logger)
        let run = Task { try await group.run() }
        let client = try TestClient(port: try await app.listeningPort, path: "/life")
        try client.send(text: #"{"event":"ping","id":1}"#)
        #expect(try client.receive().text == #"{"event":"ping","data":"pong","ack":1}"#)
        failing.fail()
        #expect(await finishes(run, within: .seconds(2)))
        await #expect(throws: FailingService.Failure.self) { try await run.value }
        #expect(try client.receive().closeCode == 1001)
    }

    @Test func cancellingTheTaskThatRunsAnApplicationStopsIt() async throws {
        let app = try await NaviosApplication.create(LifecycleProbeModule.self)
        let run = Task { try await app.run() }
        let client = try TestClient(port: try await app.listeningPort, path: "/life")
        try client.send(text: #"{"event":"ping","id":1}"#)
        #expect(try client.receive().text == #"{"event":"ping","data":"pong","ack":1}"#)
        run.cancel()
        #expect(try client.receive().closeCode == 1001)
        #expect(await finishes(run, within: .seconds(2)))
        try await run.value
    }

    @Test func aGracefulShutdownDeliversWhatWasQueuedBeforeTheClose() async throws {
        var configuration = WsEngineConfiguration()
        configuration.shutdownDrain = .seconds(5)
        let burst = BurstHandler(count: 2_000, size: 1_000)   // 2 MB: more than the socket buffers hold
        configuration.maxBacklog = 4 << 20
        let engine = try WsEngine(configuration: configuration, handler: burst)
        let group = ServiceGroup(services: [engine], logger: logger)
        let run = Task { try await group.run() }
        let client = try TestClient(port: try await engine.listeningPort)
        try client.send(text: "burst")
        // The first message is here: the burst is queued. Shut down while most of it waits.
        #expect(try client.receive().text.hasPrefix("0:"))
        await group.triggerGracefulShutdown()
        for index in 1..<burst.count {
            let frame = try client.receive()
            if !frame.text.hasPrefix("\(index):") {
                Issue.record("message \(index) missing: got \(frame.closeCode.map { "close \($0)" } ?? frame.text.prefix(12).description)")
                break
            }
        }
        #expect(try client.receive().closeCode == 1001)
        try client.send(opcode: 8, [0x03, 0xe9])
        #expect(await finishes(run, within: .seconds(5)))
        try await run.value
    }

    /// A job for a loop that arrives after the loops stopped runs on the engine's after-stop
    /// queue: not inline on the thread that enqueued it, where it could run beside another.
    @Test func aLoopJobAfterStopRunsOnTheAfterStopQueueNotOnTheCaller() async throws {
        var configuration = WsEngineConfiguration()
        configuration.loopThreads = 1
        let engine = try WsEngine(configuration: configuration, handler: RecordingHandler())
        let run = Task { try await engine.run() }
        _ = try await engine.listeningPort
        run.cancel()
        try await run.value
        let executor = LoopExecutor(core: engine.core, loop: 0)
        let caller = pthread_self()
        let ranOn = Mutex<pthread_t?>(nil)
        let done = Task(executorPreference: executor) { ranOn.withLock { $0 = pthread_self() } }
        await done.value
        let thread = try #require(ranOn.withLock { $0 })
        #expect(pthread_equal(thread, caller) == 0)
        #expect(engine.currentLoop == nil)
    }
}
