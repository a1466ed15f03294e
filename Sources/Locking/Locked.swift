#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a `pthread_mutex_t`: the project's one lock.
///
/// Why not `Synchronization.Mutex`: on Linux it is a priority-inheritance futex whose contended
/// hand-over happens in the kernel (`FUTEX_LOCK_PI` / `FUTEX_UNLOCK_PI`), which the thread
/// sanitizer cannot see, so two threads that take it in turn are reported as a data race on the
/// value it guards (CI's `scripts/test-tsan` did, on `Engine.submit` from 16 tasks). A pthread
/// mutex is intercepted by every sanitizer, and is as cheap when uncontended (one atomic in
/// glibc). The lock is held only for the closure; never call back into the same `Locked` from
/// inside it (it is not recursive).
public final class Locked<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, exclusively.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&value)
    }

    private func lock() {
        let status = pthread_mutex_lock(mutex)
        precondition(status == 0, "pthread_mutex_lock failed: \(status)")
    }

    private func unlock() {
        let status = pthread_mutex_unlock(mutex)
        precondition(status == 0, "pthread_mutex_unlock failed: \(status)")
    }
}

// Every access to the value goes through the mutex, so sharing the box is safe when the value
// itself may cross threads.
extension Locked: @unchecked Sendable where Value: Sendable {}
