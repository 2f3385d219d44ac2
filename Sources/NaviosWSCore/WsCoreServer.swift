internal import CNaviosWS
import Dispatch

/// Owns the C server: created with the engine, freed when the last holder goes (the engine, or
/// a loop executor that a task still names). What is posted to a loop runs exactly once: on
/// the loop while it runs; once the loops have stopped, on `afterStop`, a serial queue, so two
/// pieces of loop-only work never run at the same time even then.
package final class WsCoreServer: @unchecked Sendable {
    // @unchecked: the pointer never changes; the C server is thread-safe where nws_server.h
    // says so, and its other calls are made from its own loops.
    let pointer: OpaquePointer
    /// Where work meant for a loop runs once the loops have stopped.
    let afterStop = DispatchQueue(label: "navios.ws.after-stop")

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    // The loops have been joined by then (run() waits for them), or never started.
    deinit { nws_server_destroy(pointer) }

    /// Queues one message of connection `id`: 0 or an `NWS_E*` code (see nws_send).
    @inline(__always)
    package func send(_ id: WsConnectionID, _ opcode: WsOpcode, _ bytes: UnsafeRawBufferPointer, _ droppable: Bool) -> Int32 {
        nws_send(pointer, id.rawValue, opcode.rawValue, bytes.baseAddress, bytes.count,
                 droppable ? UInt32(NWS_SEND_DROPPABLE.rawValue) : 0)
    }

    /// Starts the close handshake of connection `id`: 0 or an `NWS_E*` code.
    package func close(_ id: WsConnectionID, _ code: WsCloseCode, _ reason: String) -> Int32 {
        var reason = reason
        return reason.withUTF8 { nws_close(pointer, id.rawValue, code.rawValue, $0.baseAddress, $0.count) }
    }

    /// Runs `body` on loop `loop`, or on `afterStop` once the loops have stopped.
    func post(toLoop loop: Int, _ body: @escaping @Sendable () -> Void) {
        // Retained until the loop runs it (which takes it back), or released below if refused.
        let box = Unmanaged.passRetained(PostedClosure(body)).toOpaque()
        let rc = nws_loop_post(pointer, Int32(loop), { arg in
            Unmanaged<PostedClosure>.fromOpaque(arg!).takeRetainedValue().body()
        }, box)
        guard rc < 0 else { return }
        Unmanaged<PostedClosure>.fromOpaque(box).release()
        // Only a stopped server refuses a post to a valid loop: running it on another thread
        // while the loop still ran would break the one-thread rule.
        precondition(rc == Int32(NWS_ECLOSED.rawValue), "posting to loop \(loop) failed: \(WsCoreError(rc))")
        afterStop.async(execute: body)
    }

    /// After the loops have been joined: what was posted to them and not run, in order, on
    /// `afterStop` (so after it, nothing posted runs anywhere else).
    func runLeftovers() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            afterStop.async {
                nws_server_run_leftovers(self.pointer)
                done.resume()
            }
        }
    }
}

final class PostedClosure {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
