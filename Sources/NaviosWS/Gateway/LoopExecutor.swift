/// Runs async handlers on the loop thread that owns their connection: a Task started with
/// this executor as its preference has its jobs posted to that loop's inbox, so an async
/// handler costs no hop to the global pool and runs where its connection's sends are cheap.
/// The inbox is FIFO, so handler runs start in the order their messages arrived.
final class LoopExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: both fields are immutable after init; the engine is thread-safe.
    unowned(unsafe) let engine: WsEngine
    let loop: Int

    init(engine: WsEngine, loop: Int) {
        self.engine = engine
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        do {
            try engine.post(toLoop: loop) { job.runSynchronously(on: executor) }
        } catch {
            // The loops have stopped (shutdown): run it here rather than lose it.
            job.runSynchronously(on: executor)
        }
    }
}
