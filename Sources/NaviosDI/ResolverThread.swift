#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A thread of its own for a construction whose errors may surface inside `inject(...)`.
///
/// Swift cannot unwind out of a property initialiser, so when `inject(...)` finds a missing
/// provider or a cycle, the only way to hand the error to the caller of `get`/`create` without
/// crashing is to report it and never return: the thread that was building stops there, for
/// good. That thread must not be the caller's, hence this one. A thread that stopped keeps its
/// stack and the half-built objects on it — a fixed cost per failure, which the container
/// bounds by remembering failures (see `Container`).
enum ResolverThread {
    /// Stack size: deep enough for long injection chains; macOS would otherwise give a
    /// secondary thread only 512 KiB. Only touched pages cost memory.
    private static let stackSize = 8 << 20

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread. Returns false if the system refused a thread;
    /// the caller then builds on its own thread instead.
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, stackSize)

        // Retained across the thread's start: the new thread takes it, or it is released below.
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t? = nil
        #endif
        let rc = pthread_create(&thread, &attributes, { context in
            Unmanaged<Body>.fromOpaque(nonNil(context)).takeRetainedValue().run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        return true
    }

    /// Stops the calling resolver thread for good, after it has reported its failure.
    static func stop() -> Never {
        while true { sleep(.max) }
    }
}

/// The start routine's argument is optional on Linux and not on Darwin; this takes either.
private func nonNil(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer { pointer! }
