/// Runs async handlers on the loop thread that owns their connection: a Task started with
/// this executor as its preference has its jobs posted to that loop's inbox, so an async
/// handler costs no hop to the global pool and runs where its connection's sends are cheap.
/// The inbox is FIFO, so handler runs start in the order their messages arrived. Once the
/// loops have stopped, jobs run one at a time on the core's after-stop queue (never on
/// whichever thread enqueues them), so loop-only state is still touched by one thread at a time.
package final class LoopExecutor: TaskExecutor, Sendable {
    let core: WsCoreServer
    let loop: Int

    package init(core: WsCoreServer, loop: Int) {
        self.core = core
        self.loop = loop
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        core.post(toLoop: loop) { job.runSynchronously(on: executor) }
    }
}
