#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// State behind a pthread mutex, with a condition variable to wait for it to change.
///
/// Not `Synchronization.Mutex`: that needs macOS 15 and the package supports macOS 14, and
/// the container also needs to wait (for another thread's construction, for a resolver
/// thread's result), which Mutex does not offer.
final class LockedState<State: Sendable>: @unchecked Sendable {
    // @unchecked: `state` is only touched with `mutex` held.
    private var state: State
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>

    init(_ initial: State) {
        state = initial
        mutex = .allocate(capacity: 1)
        changed = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// `withLock` that then wakes every thread blocked in `wait(for:)`: use it for changes
    /// somebody may be waiting for.
    func withLockWakingWaiters<R>(_ body: (inout State) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
        return body(&state)
    }

    /// Blocks until `ready` returns a value (it is called with the lock held, first at once,
    /// then after each `withLockWakingWaiters`), and returns that value.
    func wait<R>(for ready: (inout State) -> R?) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = ready(&state) { return result }
            pthread_cond_wait(changed, mutex)
        }
    }
}
