import CKernels
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small fork-join pool for data-parallel loops over the cores.
///
/// `parallelFor(count)` runs `body(i)` for every `i` in `0..<count`, handing indices out through
/// one atomic counter, and the calling thread works too (so a pool of `n` threads starts `n - 1`
/// workers). Idle workers spin for a short while after a loop (a decode step issues hundreds of
/// loops back to back, and waking a sleeping thread costs tens of microseconds) and then block on
/// a condition variable, so an oversubscribed machine is not burned by spinning threads.
///
/// One loop runs at a time; a `parallelFor` issued while another is running (from another
/// thread, or nested inside a body) runs serially on the caller. Safe: all shared state is
/// atomics or guarded by the mutex.
public final class ThreadPool: @unchecked Sendable {
    /// A pool with one thread per core (honouring `PAGEDFLEX_THREADS` when set).
    public static let shared: ThreadPool = {
        let env = getenv("PAGEDFLEX_THREADS").flatMap { Int(String(cString: $0)) }
        return ThreadPool(threadCount: env ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Threads that run loop bodies, the caller included.
    public let threadCount: Int

    private typealias Body = (Int) -> Void

    // Job state. `generation` is bumped (under `mutex`) to publish a new job.
    private let generation = Atomic<UInt64>(0)
    private let nextIndex = Atomic<Int>(0)
    private let pendingWorkers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private var jobCount = 0
    private var jobBody: UnsafeRawPointer?  // points at a `Body` that outlives the job
    private var shuttingDown = false

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [pthread_t] = []

    /// Spin iterations before a worker blocks (about 50-100 µs).
    private let spinLimit = 20_000

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 1..<self.threadCount {
            let context = Unmanaged.passUnretained(self).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let pool = Unmanaged<ThreadPool>.fromOpaque(raw!).takeUnretainedValue()
                pool.workerLoop()
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    deinit {
        pthread_mutex_lock(mutex)
        shuttingDown = true
        _ = generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
    }

    /// Runs `body(i)` for each `i` in `0..<count` on all threads of the pool, the caller included,
    /// and returns when every call has returned.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var boxed: Body = escapable
            withUnsafePointer(to: &boxed) { pointer in
                pthread_mutex_lock(mutex)
                jobBody = UnsafeRawPointer(pointer)
                jobCount = count
                nextIndex.store(0, ordering: .relaxed)
                pendingWorkers.store(threads.count, ordering: .relaxed)
                _ = generation.add(1, ordering: .sequentiallyConsistent)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)

                runShare(pointer.pointee, count: count)
                // Wait for the workers to leave the job before the body goes out of scope.
                while pendingWorkers.load(ordering: .acquiring) > 0 { spinPause() }
            }
        }
        busy.store(false, ordering: .releasing)
    }

    /// Splits `0..<count` into at most `chunks` contiguous ranges of nearly equal size (a multiple
    /// of `granularity` except the last) and runs `body` on each in parallel.
    public func parallelRanges(
        _ count: Int, granularity: Int = 1, chunks: Int? = nil, _ body: (Range<Int>) -> Void
    ) {
        let units = (count + granularity - 1) / granularity
        let chunkCount = max(1, min(units, chunks ?? threadCount))
        parallelFor(chunkCount) { c in
            let lo = units * c / chunkCount * granularity
            let hi = min(count, units * (c + 1) / chunkCount * granularity)
            if lo < hi { body(lo..<hi) }
        }
    }

    @inline(__always)
    private func runShare(_ body: Body, count: Int) {
        while true {
            let i = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { break }
            body(i)
        }
    }

    /// Runs a share of the job; any copy of the body it makes is released when it returns.
    @inline(never)
    private func runJob(_ job: UnsafePointer<Body>, count: Int) {
        runShare(job.pointee, count: count)
    }

    private func workerLoop() {
        var seen: UInt64 = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < spinLimit {
                spinPause()
                spins += 1
            }
            pthread_mutex_lock(mutex)
            while generation.load(ordering: .acquiring) == seen && !shuttingDown {
                pthread_cond_wait(wake, mutex)
            }
            if shuttingDown {
                pthread_mutex_unlock(mutex)
                return
            }
            seen = generation.load(ordering: .acquiring)
            let job = jobBody!.assumingMemoryBound(to: Body.self)
            let count = jobCount
            pthread_mutex_unlock(mutex)
            runJob(job, count: count)
            // Only now, with every reference to the body released, may the caller return.
            _ = pendingWorkers.subtract(1, ordering: .releasing)
        }
    }
}

@inline(__always)
func spinPause() { pf_cpu_pause() }
